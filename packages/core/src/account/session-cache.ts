/**
 * Sessions this process read from the database in the last few seconds, keyed by token hash, so
 * an authenticated request does not read its session every time (ADR 021). Only what the database
 * said was live is kept, for `ttlMs` (SESSION_CACHE_SECONDS) from the moment it was asked: a
 * session revoked by another process works here for at most that long; one revoked by this
 * process stops at once (`forget`). An unknown token is never kept: a flood of random tokens adds
 * nothing here and pushes no one out. At most `maxEntries` (SESSION_CACHE_MAX_ENTRIES), the oldest
 * read going first: only sessions that exist can fill it, and one pushed out is read again.
 */

export interface CachedSession<User> {
  user: User;
  userID: string;
  /** Epoch ms; never changes for a session. */
  createdAt: number;
  /** Epoch ms, as last read or written by this process (another may have slid it later). */
  expiresAt: number;
  /** Epoch ms, the session's "last used" as this process last read or wrote it. */
  lastUsedAt?: number;
  /** When the database was asked (epoch ms, the request's clock). */
  readAt: number;
}

export class SessionCache<User> {
  readonly #entries = new Map<string, CachedSession<User>>();
  /** Bumped by every `forget`: a read that began before one must not be kept (see `keep`). */
  #generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  /** The entry for `tokenHash` if it was read less than the TTL before `now`. */
  get(tokenHash: string, now: number): CachedSession<User> | undefined {
    const entry = this.#entries.get(tokenHash);
    if (!entry) return undefined;
    const age = now - entry.readAt;
    // A clock that went back (a test's, or a corrected one) trusts nothing it cannot date.
    if (age >= 0 && age < this.ttlMs) return entry;
    this.#entries.delete(tokenHash);
    return undefined;
  }

  /** Taken before reading the database; `keep` refuses the read if a `forget` came meanwhile. */
  generation(): number {
    return this.#generation;
  }

  /**
   * Keeps what the database said, unless a session was revoked here since the read began: that
   * read may have seen the row just before its delete, and would keep a revoked session alive.
   */
  keep(tokenHash: string, entry: CachedSession<User>, generation: number): void {
    if (this.ttlMs <= 0 || generation !== this.#generation) return;
    this.#entries.delete(tokenHash);
    if (this.#entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: the first key is the oldest read.
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(tokenHash, entry);
  }

  /** Drops the sessions revoked here (by token hash), and every one of `userID` if given. */
  forget(tokenHashes: Iterable<string>, userID?: string): void {
    this.#generation++;
    for (const hash of tokenHashes) this.#entries.delete(hash);
    if (userID === undefined) return;
    for (const [hash, entry] of this.#entries) {
      if (entry.userID === userID) this.#entries.delete(hash);
    }
  }

  /** Drops one entry without counting as a revocation (the database no longer has it). */
  drop(tokenHash: string): void {
    this.#entries.delete(tokenHash);
  }
}
