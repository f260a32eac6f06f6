import { hash, randomBytes } from "node:crypto";
import { and, eq, gt, lt, or, sql } from "drizzle-orm";
import * as z from "zod";
import { config } from "../config";
import {
  afterCommit,
  createTransaction,
  inTransaction,
  placeholder,
  prepared,
  useTransaction,
} from "../db/transaction";
import { AppError, ConflictError } from "../error";
import { addressBlock } from "../http/client-address";
import { text } from "../http/text";
import { createID } from "../id";
import { Limit } from "../limit";
import { loginThrottleTable, sessionTable, userTable } from "./account.sql";
import { LOGIN_LIMITS } from "./login-limits";
import * as Hashing from "./password";
import { SessionCache } from "./session-cache";

export { deleteExpired } from "./expiry";
export { LOGIN_LIMITS } from "./login-limits";

export const Email = text()
  .trim()
  .toLowerCase()
  .pipe(
    z
      .email({ error: "must be an email address" })
      .max(254, { error: "must be at most 254 characters" }),
  );
// Hashed, not stored, but a lone surrogate is hashed as U+FFFD: two such passwords would match.
export const Password = text()
  .min(8, { error: "must be at least 8 characters" })
  .max(256, { error: "must be at most 256 characters" });
export const Name = text()
  .trim()
  .min(1, { error: "must not be empty" })
  .max(100, { error: "must be at most 100 characters" });

export const SignupInput = z.strictObject({ email: Email, password: Password, name: Name });
export type SignupInput = z.input<typeof SignupInput>;
export const LoginInput = z.strictObject({ email: Email, password: text().max(256) });
export type LoginInput = z.input<typeof LoginInput>;

/** What the API shows of a user: never the password hash. */
export const Info = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  createdAt: z.string(),
});
export type Info = z.infer<typeof Info>;

const toInfo = (user: typeof userTable.$inferSelect): Info => ({
  id: user.id,
  email: user.email,
  name: user.name,
  createdAt: user.createdAt.toISOString(),
});

export interface Session {
  token: string;
  expiresAt: Date;
}

const hashToken = (token: string) => hash("sha256", token, "hex");
const hours = (n: number) => n * 3_600_000;

function rateLimited(message: string, retryAfterSeconds: number): AppError {
  return new AppError("rate_limited", message, { retryAfterSeconds });
}

/** Where a request came from: its address, and the session cookie it carried, if any. */
export interface Origin {
  /** The client's address (session.ts `clientIP`): counted against the per-address limits. */
  ip: string;
  /** The session token the request carried: revoked when a new session replaces it. */
  replacing?: string;
}

/**
 * A new session for the user, in the caller's transaction. The one the browser carried
 * (`replacing`) is revoked with it, whoever it belonged to: a session planted before sign-in
 * (fixation) dies then. (The absolute lifetime is never shorter than the sliding one: config.)
 */
async function openSession(userID: string, now: Date, replacing?: string): Promise<Session> {
  const token = randomBytes(32).toString("base64url"); // 256 bits
  const expiresAt = new Date(now.getTime() + hours(config().session.ttlHours));
  await useTransaction(async (tx) => {
    if (replacing) {
      await tx.delete(sessionTable).where(eq(sessionTable.tokenHash, hashToken(replacing)));
    }
    await tx
      .insert(sessionTable)
      .values({ tokenHash: hashToken(token), userId: userID, createdAt: now, expiresAt });
  });
  if (replacing) await forgetSessions([hashToken(replacing)]);
  return { token, expiresAt };
}

type Hit = { key: string; rule: Limit.Rule };

/**
 * The per-address limits of `kind` a request from `ip` counts against: its block (an IPv4
 * address, an IPv6 /64) and, over IPv6, its /48 under a looser cap (one site often holds a /48:
 * 65,536 /64s).
 */
function addressHits(kind: "login" | "signup", ip: string): Hit[] {
  const block = addressBlock(ip);
  const login = kind === "login";
  const hits: Hit[] = [
    {
      key: `${kind}:ip:${block}`,
      rule: login ? LOGIN_LIMITS.perAddress : LOGIN_LIMITS.signupsPerAddress,
    },
  ];
  if (block.endsWith("::/64")) {
    hits.push({
      key: `${kind}:ip48:${block.split(":").slice(0, 3).join(":")}::/48`,
      rule: login ? LOGIN_LIMITS.perAddress48 : LOGIN_LIMITS.signupsPerAddress48,
    });
  }
  return hits;
}

/** Counts each hit in turn; the first over its limit is a 429 (the hits before it stay counted). */
async function limit(hits: Hit[], now: Date, message: string) {
  for (const { key, rule } of hits) {
    const outcome = await Limit.hit(key, rule, now);
    if (!outcome.allowed) throw rateLimited(message, outcome.retryAfterSeconds);
  }
}

/** Gives the hits back: an outcome the limits do not count (a success, a 503). */
async function release(hits: Hit[], now: Date) {
  for (const { key, rule } of hits) await Limit.release(key, rule, now);
}

/** Runs `work`; if it throws server_busy (nothing was done), gives `hits` back first. */
async function unlessBusy<T>(hits: Hit[], now: Date, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError && error.code === "server_busy") await release(hits, now);
    throw error;
  }
}

/**
 * Creates the account and signs it in. With an `origin` (the signup route), counted against the
 * per-address signup cap before any work; without one (scripts, tests) it is not.
 */
export async function signup(
  input: SignupInput,
  origin?: Origin,
  now = new Date(),
): Promise<{ user: Info; session: Session }> {
  const data = SignupInput.parse(input);
  const hits = origin ? addressHits("signup", origin.ip) : [];
  await limit(hits, now, "Too many accounts created from this address; try again later");
  const passwordHash = await unlessBusy(hits, now, () => Hashing.hashPassword(data.password));
  return createTransaction(async (tx) => {
    const [user] = await tx
      .insert(userTable)
      .values({ id: createID("user"), email: data.email, name: data.name, passwordHash })
      .onConflictDoNothing({ target: userTable.email })
      .returning();
    if (!user)
      throw new ConflictError("An account with this email already exists", { field: "email" });
    return { user: toInfo(user), session: await openSession(user.id, now, origin?.replacing) };
  });
}

const throttle = loginThrottleTable;
const timestamp = (at: Date) => sql`${at.toISOString()}::timestamptz`;
const constant = (n: number) => sql.raw(String(n));
// The wait after the row's last attempt: base × 2^(attempts − free), capped (the exponent too,
// so a count that keeps growing never overflows). The one formula both statements below use.
const doublings = sql`least(greatest(${throttle.attempts} - ${constant(LOGIN_LIMITS.freeAttempts)}, 0), 30)`;
const delaySeconds = sql`least(${constant(LOGIN_LIMITS.baseDelaySeconds)} * power(2, ${doublings}), ${constant(LOGIN_LIMITS.maxDelaySeconds)})`;
const nextAttemptAt = sql`${throttle.lastAttemptAt} + make_interval(secs => ${delaySeconds})`;

/**
 * Takes an attempt for `email` from address block `block` before its password is checked, or
 * says how many seconds to wait. One upsert: concurrent attempts queue on the row's lock, each
 * sees the count the one before left, so of 20 parallel guesses exactly `freeAttempts` are let
 * through. The attempt stays counted (a failure) unless the login succeeds (the row is deleted)
 * or the password is never checked (`returnAttempt`). It commits at once: no transaction is held
 * while hashing.
 */
async function takeAttempt(email: string, block: string, now: Date): Promise<number | undefined> {
  const at = timestamp(now);
  const forgotten = sql`${throttle.lastAttemptAt} <= ${timestamp(
    new Date(now.getTime() - hours(LOGIN_LIMITS.memoryHours)),
  )}`;
  const [taken] = await useTransaction((tx) =>
    tx
      .insert(throttle)
      .values({ email, block, attempts: 1, lastAttemptAt: now })
      .onConflictDoUpdate({
        target: [throttle.email, throttle.block],
        set: {
          attempts: sql`case when ${forgotten} then 1 else ${throttle.attempts} + 1 end`,
          lastAttemptAt: now,
        },
        setWhere: or(
          forgotten,
          lt(throttle.attempts, LOGIN_LIMITS.freeAttempts),
          sql`${nextAttemptAt} <= ${at}`,
        ),
      })
      .returning({ attempts: throttle.attempts }),
  );
  if (taken) return undefined;
  const [row] = await useTransaction((tx) =>
    tx
      .select({ wait: sql<number>`ceil(extract(epoch from ${nextAttemptAt} - ${at}))::int` })
      .from(throttle)
      .where(and(eq(throttle.email, email), eq(throttle.block, block))),
  );
  return Math.max(1, row?.wait ?? 1);
}

/** An attempt that was never checked (the server was too busy to hash) does not count. */
async function returnAttempt(email: string, block: string) {
  await useTransaction((tx) =>
    tx
      .update(throttle)
      .set({ attempts: sql`greatest(${throttle.attempts} - 1, 0)` })
      .where(and(eq(throttle.email, email), eq(throttle.block, block))),
  );
}

/**
 * Checks the credentials. An unknown email and a wrong password get the same error, after the
 * same work, and the same limits (login-limits.ts). Before the password is checked, in this
 * order: the address's attempt (its block, over IPv6 its /48 too, any email), the email's from
 * this block (the growing delay), the email's over all addresses (`perEmail`); any over its limit
 * is a 429 with the seconds to wait. The email's per-block attempt is taken before the per-email
 * one, so refused retries from one block never spend the email's daily budget. A success gives
 * the address and per-email hits back, forgets this block's attempts, replaces the hash if it is
 * of an older kind, and replaces the session the request carried; an attempt never checked (503)
 * is given back everywhere.
 */
export async function login(
  input: LoginInput,
  origin: Origin,
  now = new Date(),
): Promise<{ user: Info; session: Session }> {
  const data = LoginInput.parse(input);
  const block = addressBlock(origin.ip);
  const hits = addressHits("login", origin.ip);
  await limit(hits, now, "Too many sign-in attempts from this address; try again later");
  const wait = await takeAttempt(data.email, block, now);
  if (wait !== undefined) {
    throw rateLimited("Too many failed sign-ins for this email; try again later", wait);
  }
  const perEmail = { key: `login:email:${data.email}`, rule: LOGIN_LIMITS.perEmail };
  const daily = await Limit.hit(perEmail.key, perEmail.rule, now);
  if (!daily.allowed) {
    await returnAttempt(data.email, block);
    throw rateLimited(
      "Too many sign-in attempts for this email today; try again later",
      daily.retryAfterSeconds,
    );
  }
  hits.push(perEmail);

  const [user] = await useTransaction((tx) =>
    tx.select().from(userTable).where(eq(userTable.email, data.email)),
  );
  let valid: boolean;
  try {
    const stored = user?.passwordHash ?? (await Hashing.dummyHash());
    valid = await Hashing.verifyPassword(data.password, stored);
  } catch (error) {
    await returnAttempt(data.email, block);
    await release(hits, now);
    throw error;
  }
  if (!user || !valid) throw new AppError("unauthorized", "Wrong email or password");

  const rehashed = Hashing.needsRehash(user.passwordHash) ? await rehash(data.password) : undefined;
  return createTransaction(async (tx) => {
    await tx.delete(throttle).where(and(eq(throttle.email, data.email), eq(throttle.block, block)));
    await release(hits, now);
    if (rehashed) {
      // Only over the hash that was checked: a password changed meanwhile stays changed.
      await tx
        .update(userTable)
        .set({ passwordHash: rehashed, updatedAt: now })
        .where(and(eq(userTable.id, user.id), eq(userTable.passwordHash, user.passwordHash)));
    }
    return { user: toInfo(user), session: await openSession(user.id, now, origin.replacing) };
  });
}

/** The password under today's hash, or undefined when the server is too busy: next login, then. */
async function rehash(password: string): Promise<string | undefined> {
  try {
    return await Hashing.hashPassword(password);
  } catch (error) {
    if (error instanceof AppError && error.code === "server_busy") return undefined;
    throw error;
  }
}

/**
 * Revokes the session server-side: the token stops working at once in this process, and in every
 * other within SESSION_CACHE_SECONDS (their session caches).
 */
export async function logout(token: string): Promise<void> {
  const tokenHash = hashToken(token);
  await useTransaction((tx) =>
    tx.delete(sessionTable).where(eq(sessionTable.tokenHash, tokenHash)),
  );
  await forgetSessions([tokenHash]);
}

/**
 * Revokes every session of the user, on every device; returns how many there were. At once here,
 * within SESSION_CACHE_SECONDS elsewhere, as `logout`.
 */
export async function logoutEverywhere(userID: string): Promise<number> {
  const revoked = await useTransaction((tx) =>
    tx
      .delete(sessionTable)
      .where(eq(sessionTable.userId, userID))
      .returning({ tokenHash: sessionTable.tokenHash }),
  );
  await forgetSessions(
    revoked.map((row) => row.tokenHash),
    userID,
  );
  return revoked.length;
}

let cache: SessionCache<Info> | undefined;
/** This process's recently read sessions (session-cache.ts), sized from config on first use. */
function sessionCache(): SessionCache<Info> {
  if (!cache) {
    const { cacheSeconds, cacheMaxEntries } = config().session;
    cache = new SessionCache<Info>(cacheSeconds * 1000, cacheMaxEntries);
  }
  return cache;
}

/**
 * Drops sessions just deleted from this process's cache. Deleted in a transaction, they are
 * dropped again when it commits: until then a request can still read the row, and keep it.
 */
async function forgetSessions(tokenHashes: string[], userID?: string) {
  sessionCache().forget(tokenHashes, userID);
  if (inTransaction()) await afterCommit(() => sessionCache().forget(tokenHashes, userID));
}

// The two queries of every authenticated request, built once (db/transaction.ts `prepared`).
const liveSession = prepared((db) =>
  db
    .select({
      id: userTable.id,
      email: userTable.email,
      name: userTable.name,
      userCreatedAt: userTable.createdAt,
      createdAt: sessionTable.createdAt,
      expiresAt: sessionTable.expiresAt,
    })
    .from(sessionTable)
    .innerJoin(userTable, eq(userTable.id, sessionTable.userId))
    .where(
      and(
        eq(sessionTable.tokenHash, sql.placeholder("tokenHash")),
        gt(sessionTable.expiresAt, placeholder("now", sessionTable.expiresAt)),
        gt(sessionTable.createdAt, placeholder("bornAfter", sessionTable.createdAt)),
      ),
    )
    .prepare("account_live_session"),
);
const extendSession = prepared((db) =>
  db
    .update(sessionTable)
    .set({ expiresAt: placeholder("expiresAt", sessionTable.expiresAt) })
    .where(eq(sessionTable.tokenHash, sql.placeholder("tokenHash")))
    .returning({ tokenHash: sessionTable.tokenHash })
    .prepare("account_extend_session"),
);

/**
 * The user a session token belongs to, if the session is live: not past its sliding expiry and
 * younger than the absolute lifetime. Sliding: a session used after a tenth of its sliding
 * lifetime is extended (at most one write per session every few hours), never past the
 * absolute end, so even a session used every day dies `absoluteTtlHours` after sign-in.
 *
 * A session read in the last SESSION_CACHE_SECONDS is not read again (session-cache.ts). Both
 * lifetimes are still checked against `now` on every call: what the cache can miss is only a
 * revocation by another process (a deleted row), for at most that long, or a slide another
 * process wrote (which only moves the expiry later). So a cached session that looks expired is
 * read again before it is refused.
 */
export async function authenticate(
  token: string,
  now = new Date(),
): Promise<{ user: Info; session: Session; extended: boolean } | undefined> {
  const tokenHash = hashToken(token);
  const { ttlHours, absoluteTtlHours } = config().session;
  const at = now.getTime();
  const bornAfter = at - hours(absoluteTtlHours);
  const sessions = sessionCache();
  let live = sessions.get(tokenHash, at);
  if (!live || live.expiresAt <= at || live.createdAt <= bornAfter) {
    const generation = sessions.generation();
    const [row] = await liveSession({ tokenHash, now, bornAfter: new Date(bornAfter) });
    if (!row) {
      sessions.drop(tokenHash);
      return undefined;
    }
    live = {
      // Shared by the requests that find it here: frozen so none can change another's.
      user: Object.freeze({
        id: row.id,
        email: row.email,
        name: row.name,
        createdAt: row.userCreatedAt.toISOString(),
      }),
      userID: row.id,
      createdAt: row.createdAt.getTime(),
      expiresAt: row.expiresAt.getTime(),
      readAt: at,
    };
    sessions.keep(tokenHash, live, generation);
  }
  const ttl = hours(ttlHours);
  const end = live.createdAt + hours(absoluteTtlHours);
  const expiresAt = Math.min(at + ttl, end);
  if (expiresAt - live.expiresAt < ttl * 0.1) {
    return {
      user: live.user,
      session: { token, expiresAt: new Date(live.expiresAt) },
      extended: false,
    };
  }
  const [extended] = await extendSession({ tokenHash, expiresAt: new Date(expiresAt) });
  if (!extended) {
    // Revoked between the read and this write: no cookie for a session that is gone.
    sessions.drop(tokenHash);
    return undefined;
  }
  live.expiresAt = expiresAt;
  return { user: live.user, session: { token, expiresAt: new Date(expiresAt) }, extended: true };
}
