import { randomBytes } from "node:crypto";
import { and, desc, eq, gt, inArray, isNull, lt, ne, or, sql } from "drizzle-orm";
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
import { AppError, ConflictError, NotFoundError, ValidationError } from "../error";
import { addressBlock } from "../http/client-address";
import { text } from "../http/text";
import { createID } from "../id";
import { Limit } from "../limit";
import * as Mail from "../mail/mail";
import * as Note from "../note/note";
import { recordLoginFailure } from "../observability/metrics";
import { atSite } from "../read-sites";
import { enqueue, forgetPayloads } from "../task/task";
import { loginThrottleTable, sessionTable, userRoles, userTable } from "./account.sql";
import { LOGIN_LIMITS } from "./login-limits";
import * as Hashing from "./password";
import { SessionCache } from "./session-cache";
import {
  dropTokens,
  emailChangedNotice,
  findToken,
  hashToken,
  sendEmailChangeTask,
  sendPasswordResetTask,
  sendVerificationTask,
  spendToken,
} from "./tokens";

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

/** A token from a mailed link: 43 base64url characters when we made it; anything else is unknown. */
const Token = text()
  .min(1, { error: "must not be empty" })
  .max(200, { error: "must be at most 200 characters" });
/** A password given to prove who you are: checked, never stored, so only the upper bound. */
const CurrentPassword = text()
  .min(1, { error: "must not be empty" })
  .max(256, { error: "must be at most 256 characters" });
export const TokenInput = z.strictObject({ token: Token });
export const PasswordResetInput = z.strictObject({ email: Email });
export const PasswordResetConfirmInput = z.strictObject({ token: Token, password: Password });
export const ChangePasswordInput = z.strictObject({
  currentPassword: CurrentPassword,
  newPassword: Password,
});
export const DeleteAccountInput = z.strictObject({ password: CurrentPassword });
export const ChangeEmailInput = z.strictObject({ password: CurrentPassword, newEmail: Email });
export const SessionIDParam = z.strictObject({ id: z.string() });

/** One of the user's sessions as the session list shows it: never its token or the token's hash. */
export const SessionInfo = z.object({
  id: z.string(),
  createdAt: z.string(),
  /** Within LAST_USED_INTERVAL_MINUTES of the last request. */
  lastUsedAt: z.string(),
  expiresAt: z.string(),
  /** "Firefox on macOS", from the sign-in's User-Agent; null when it said nothing recognisable. */
  device: z.string().nullable(),
  /** The session this request came with. */
  current: z.boolean(),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

/** What the API shows of a user: never the password hash. */
export const Info = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  /** Whether the owner confirmed the address (a verification link): only then does product mail go there. */
  emailVerified: z.boolean(),
  /** `admin` reaches the operator console; `member` otherwise (ADR 028). */
  role: z.enum(userRoles),
  createdAt: z.string(),
});
export type Info = z.infer<typeof Info>;

const toInfo = (user: typeof userTable.$inferSelect): Info => ({
  id: user.id,
  email: user.email,
  name: user.name,
  emailVerified: user.emailVerifiedAt !== null,
  role: user.role,
  createdAt: user.createdAt.toISOString(),
});

export interface Session {
  token: string;
  expiresAt: Date;
}

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
  /** What the session list shows for a session opened here ("Firefox on macOS", user-agent.ts). */
  device?: string;
}

/**
 * A new session for the user, in the caller's transaction. The one the browser carried
 * (`replacing`) is revoked with it, whoever it belonged to: a session planted before sign-in
 * (fixation) dies then. (The absolute lifetime is never shorter than the sliding one: config.)
 */
async function openSession(
  userID: string,
  now: Date,
  replacing?: string,
  device?: string,
): Promise<Session> {
  const token = randomBytes(32).toString("base64url"); // 256 bits
  const expiresAt = new Date(now.getTime() + hours(config().session.ttlHours));
  await useTransaction(async (tx) => {
    if (replacing) {
      await tx.delete(sessionTable).where(eq(sessionTable.tokenHash, hashToken(replacing)));
    }
    await tx.insert(sessionTable).values({
      tokenHash: hashToken(token),
      id: createID("session"),
      userId: userID,
      createdAt: now,
      lastUsedAt: now,
      expiresAt,
      device: device ?? null,
    });
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
function addressHits(kind: "login" | "signup" | "reset", ip: string): Hit[] {
  const block = addressBlock(ip);
  const rules = {
    login: [LOGIN_LIMITS.perAddress, LOGIN_LIMITS.perAddress48],
    signup: [LOGIN_LIMITS.signupsPerAddress, LOGIN_LIMITS.signupsPerAddress48],
    reset: [LOGIN_LIMITS.resetsPerAddress, LOGIN_LIMITS.resetsPerAddress48],
  } as const;
  const [perBlock, per48] = rules[kind];
  const hits: Hit[] = [{ key: `${kind}:ip:${block}`, rule: perBlock }];
  if (block.endsWith("::/64")) {
    hits.push({ key: `${kind}:ip48:${block.split(":").slice(0, 3).join(":")}::/48`, rule: per48 });
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
    // The verification mail: written by the worker once this commits (tokens.ts).
    await enqueue(sendVerificationTask, { userId: user.id });
    return {
      user: toInfo(user),
      session: await openSession(user.id, now, origin?.replacing, origin?.device),
    };
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
  const { user, rehashed, accept } = await checkPassword(data.email, data.password, origin, now);
  return createTransaction(async (tx) => {
    await accept();
    if (rehashed) {
      // Only over the hash that was checked: a password changed meanwhile stays changed.
      await tx
        .update(userTable)
        .set({ passwordHash: rehashed, updatedAt: now })
        .where(and(eq(userTable.id, user.id), eq(userTable.passwordHash, user.passwordHash)));
    }
    return {
      user: toInfo(user),
      session: await openSession(user.id, now, origin.replacing, origin.device),
    };
  });
}

/**
 * The sign-in check of `login`, with its limits, for every route that asks for a password (a
 * password change, an email change, deleting the account): a wrong password there counts toward
 * the same limits as a wrong sign-in, so a stolen session cannot guess the password any faster.
 * `accept` (call it in the caller's transaction) forgets this block's failures and gives the
 * hits back, as a successful sign-in does.
 */
async function checkPassword(
  email: string,
  password: string,
  origin: Origin,
  now: Date,
  { rehash: wantsRehash = true }: { rehash?: boolean } = {},
) {
  const data = { email, password };
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
  // A disabled account fails as a wrong password does, even with the right one, after the same
  // work: neither whether the password is right nor whether the account is disabled leaks
  // (ADR 028). It counts as a failed attempt, so guessing against it stays throttled.
  if (!user || !valid || user.disabledAt !== null) {
    recordLoginFailure();
    throw new AppError("unauthorized", "Wrong email or password");
  }

  // Only sign-in keeps the rehash; the others would throw an Argon2 hash away (or replace it).
  const rehashed =
    wantsRehash && Hashing.needsRehash(user.passwordHash) ? await rehash(data.password) : undefined;
  const accept = () =>
    useTransaction(async (tx) => {
      await tx
        .delete(throttle)
        .where(and(eq(throttle.email, data.email), eq(throttle.block, block)));
      await release(hits, now);
    });
  return { user, rehashed, accept };
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
  const revoked = await createTransaction(async (tx) => {
    // Whoever held a session may have asked for a link (an email change to their own address):
    // signing everyone out is the owner taking the account back, so no link outlives it.
    await dropTokens(userID);
    return tx
      .delete(sessionTable)
      .where(eq(sessionTable.userId, userID))
      .returning({ tokenHash: sessionTable.tokenHash });
  });
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
      emailVerifiedAt: userTable.emailVerifiedAt,
      role: userTable.role,
      userCreatedAt: userTable.createdAt,
      createdAt: sessionTable.createdAt,
      expiresAt: sessionTable.expiresAt,
      lastUsedAt: sessionTable.lastUsedAt,
    })
    .from(sessionTable)
    .innerJoin(userTable, eq(userTable.id, sessionTable.userId))
    .where(
      and(
        eq(sessionTable.tokenHash, sql.placeholder("tokenHash")),
        gt(sessionTable.expiresAt, placeholder("now", sessionTable.expiresAt)),
        gt(sessionTable.createdAt, placeholder("bornAfter", sessionTable.createdAt)),
        // Disabling revokes the sessions too; this keeps one opened meanwhile from working.
        isNull(userTable.disabledAt),
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
// At most one write per session per LAST_USED_INTERVAL_MINUTES: the condition makes a second
// process's write for the same interval a no-op.
const touchSession = prepared((db) =>
  db
    .update(sessionTable)
    .set({ lastUsedAt: placeholder("now", sessionTable.lastUsedAt) })
    .where(
      and(
        eq(sessionTable.tokenHash, sql.placeholder("tokenHash")),
        lt(sessionTable.lastUsedAt, placeholder("before", sessionTable.lastUsedAt)),
      ),
    )
    .prepare("account_touch_session"),
);

/**
 * How stale a session's "last used" may get: it is written when a request finds it older than
 * this (ADR 025), so a session in steady use costs one write per interval, not one per request.
 */
export const LAST_USED_INTERVAL_MINUTES = 15;

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
    const [row] = await atSite("account.session", () =>
      liveSession({ tokenHash, now, bornAfter: new Date(bornAfter) }),
    );
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
        emailVerified: row.emailVerifiedAt !== null,
        role: row.role,
        createdAt: row.userCreatedAt.toISOString(),
      }),
      userID: row.id,
      createdAt: row.createdAt.getTime(),
      expiresAt: row.expiresAt.getTime(),
      lastUsedAt: row.lastUsedAt.getTime(),
      readAt: at,
    };
    sessions.keep(tokenHash, live, generation);
  }
  const interval = LAST_USED_INTERVAL_MINUTES * 60_000;
  if (live.lastUsedAt !== undefined && at - live.lastUsedAt >= interval) {
    live.lastUsedAt = at;
    await touchSession({ tokenHash, now, before: new Date(at - interval) });
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

const invalidToken = () =>
  new AppError("invalid_token", "This link is unknown, used or expired; ask for a new one");

/** Forgets the user's cached sessions here: their cached Info (email, verified) changed. */
async function refreshUser(userID: string) {
  await forgetSessions([], userID);
}

/**
 * Verifies the address the token was mailed to, if it is still the account's: the token is used
 * up. An unknown, used or expired token, or one for an address the account no longer has, is a
 * 400 invalid_token that changes nothing.
 */
export async function verifyEmail(input: z.input<typeof TokenInput>, now = new Date()) {
  const { token } = TokenInput.parse(input);
  const user = await createTransaction(async (tx) => {
    const found = await findToken("verify_email", token, now);
    if (!found) throw invalidToken();
    const [updated] = await tx
      .update(userTable)
      .set({ emailVerifiedAt: sql`coalesce(${userTable.emailVerifiedAt}, ${timestamp(now)})` })
      .where(and(eq(userTable.id, found.userId), eq(userTable.email, found.email)))
      .returning();
    if (!updated) throw invalidToken();
    await spendToken(found.tokenHash);
    return updated;
  });
  await refreshUser(user.id);
  return toInfo(user);
}

/** Queues another verification mail (the last link stops working), within `verificationResends`. */
export async function resendVerification(user: Info, now = new Date()) {
  await limit(
    [{ key: `verify:user:${user.id}`, rule: LOGIN_LIMITS.verificationResends }],
    now,
    "Too many verification mails asked for; try again later",
  );
  if (user.emailVerified) return;
  await createTransaction(() => enqueue(sendVerificationTask, { userId: user.id }));
}

/**
 * Asks for a reset link. The same answer, the same work whether or not an account has the
 * address: the per-address and per-email hits, then one task in the outbox; the worker looks the
 * address up and mails a link only if it finds an account (tokens.ts). So neither the response nor
 * its time says whether the account exists.
 */
export async function requestPasswordReset(
  input: z.input<typeof PasswordResetInput>,
  origin: Origin,
  now = new Date(),
) {
  const { email } = PasswordResetInput.parse(input);
  await limit(
    [
      ...addressHits("reset", origin.ip),
      { key: `reset:email:${email}`, rule: LOGIN_LIMITS.resetsPerEmail },
    ],
    now,
    "Too many password resets asked for; try again later",
  );
  await createTransaction(() => enqueue(sendPasswordResetTask, { email }));
}

/**
 * Sets a new password from a reset link: the token is used up, every session of the user is
 * revoked (at once here, within SESSION_CACHE_SECONDS elsewhere) and a new one opens for this
 * device. The link proved the mailbox, so the address counts as verified too. The token is checked
 * before the password is hashed, so a bad one costs no hash.
 */
export async function resetPassword(
  input: z.input<typeof PasswordResetConfirmInput>,
  origin: Origin,
  now = new Date(),
): Promise<{ user: Info; session: Session }> {
  const data = PasswordResetConfirmInput.parse(input);
  if (!(await createTransaction(() => findToken("reset_password", data.token, now)))) {
    throw invalidToken();
  }
  const passwordHash = await Hashing.hashPassword(data.password);
  const { user, revoked, session } = await createTransaction(async (tx) => {
    const found = await findToken("reset_password", data.token, now);
    if (!found) throw invalidToken();
    const [updated] = await tx
      .update(userTable)
      .set({
        passwordHash,
        updatedAt: now,
        emailVerifiedAt: sql`coalesce(${userTable.emailVerifiedAt}, ${timestamp(now)})`,
      })
      .where(
        and(
          eq(userTable.id, found.userId),
          eq(userTable.email, found.email),
          // A disabled account gets no new session (nor password) from a link mailed before.
          isNull(userTable.disabledAt),
        ),
      )
      .returning();
    if (!updated) throw invalidToken();
    await dropTokens(updated.id);
    const revoked = await tx
      .delete(sessionTable)
      .where(eq(sessionTable.userId, updated.id))
      .returning({ tokenHash: sessionTable.tokenHash });
    await tx.delete(throttle).where(eq(throttle.email, updated.email));
    const session = await openSession(updated.id, now, origin.replacing, origin.device);
    return { user: updated, revoked, session };
  });
  await forgetSessions(
    revoked.map((row) => row.tokenHash),
    user.id,
  );
  return { user: toInfo(user), session };
}

/**
 * Changes the signed-in user's password: the current one is checked as a sign-in is (a wrong one
 * is a 401 that counts toward the login limits), then every other session is revoked.
 */
export async function changePassword(
  user: Info,
  currentToken: string,
  input: z.input<typeof ChangePasswordInput>,
  origin: Origin,
  now = new Date(),
) {
  const data = ChangePasswordInput.parse(input);
  const checked = await checkPassword(user.email, data.currentPassword, origin, now, {
    rehash: false,
  });
  let passwordHash: string;
  try {
    passwordHash = await Hashing.hashPassword(data.newPassword);
  } catch (error) {
    // Too busy to hash (503): the current password was right, so it is no failed sign-in.
    await createTransaction(() => checked.accept());
    throw error;
  }
  const current = hashToken(currentToken);
  const revoked = await createTransaction(async (tx) => {
    await checked.accept();
    await tx
      .update(userTable)
      .set({ passwordHash, updatedAt: now })
      .where(eq(userTable.id, user.id));
    // Every link, not only reset's: a pending email change started by someone who knew the old
    // password would otherwise still move the account after the owner changed it.
    await dropTokens(user.id);
    return tx
      .delete(sessionTable)
      .where(and(eq(sessionTable.userId, user.id), ne(sessionTable.tokenHash, current)))
      .returning({ tokenHash: sessionTable.tokenHash });
  });
  await forgetSessions(revoked.map((row) => row.tokenHash));
}

/** The user's live sessions, newest first; `current` marks the one `currentToken` is. */
export async function listSessions(
  userID: string,
  currentToken: string,
  now = new Date(),
): Promise<SessionInfo[]> {
  const current = hashToken(currentToken);
  const { absoluteTtlHours } = config().session;
  const rows = await useTransaction((tx) =>
    tx
      .select()
      .from(sessionTable)
      .where(
        and(
          eq(sessionTable.userId, userID),
          gt(sessionTable.expiresAt, now),
          gt(sessionTable.createdAt, new Date(now.getTime() - hours(absoluteTtlHours))),
        ),
      )
      .orderBy(desc(sessionTable.createdAt)),
  );
  return rows.map((row) => ({
    id: row.id,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt.toISOString(),
    // The sooner of the sliding expiry and the absolute end.
    expiresAt: new Date(
      Math.min(row.expiresAt.getTime(), row.createdAt.getTime() + hours(absoluteTtlHours)),
    ).toISOString(),
    device: row.device,
    current: row.tokenHash === current,
  }));
}

/**
 * Ends one of the user's sessions by its public id; another user's (or none) is a 404. Says
 * whether it was `currentToken`'s (the caller then clears the cookie).
 */
export async function revokeSession(
  userID: string,
  sessionID: string,
  currentToken: string,
): Promise<{ current: boolean }> {
  const revoked = await useTransaction((tx) =>
    tx
      .delete(sessionTable)
      .where(and(eq(sessionTable.id, sessionID), eq(sessionTable.userId, userID)))
      .returning({ tokenHash: sessionTable.tokenHash }),
  );
  if (revoked.length === 0) throw new NotFoundError("Session not found");
  await forgetSessions(revoked.map((row) => row.tokenHash));
  return { current: revoked.some((row) => row.tokenHash === hashToken(currentToken)) };
}

/** Ends every session of the user but `currentToken`'s; returns how many. */
export async function revokeOtherSessions(userID: string, currentToken: string): Promise<number> {
  const revoked = await createTransaction(async (tx) => {
    // As logoutEverywhere: a link another session asked for (an email change) dies with it.
    await dropTokens(userID);
    return tx
      .delete(sessionTable)
      .where(
        and(eq(sessionTable.userId, userID), ne(sessionTable.tokenHash, hashToken(currentToken))),
      )
      .returning({ tokenHash: sessionTable.tokenHash });
  });
  await forgetSessions(revoked.map((row) => row.tokenHash));
  return revoked.length;
}

/**
 * Deletes the account after checking its password (as a sign-in): the user and, in one
 * transaction, their sessions, tokens, sign-in throttles and rate-limit counters, notes and
 * attachments (the objects by tasks queued with the rows, retried until done), the digest's
 * record of them (cascade), and the queued tasks and dev mail that name their id or address.
 * The address can sign up again at once.
 */
export async function deleteAccount(
  user: Info,
  input: z.input<typeof DeleteAccountInput>,
  origin: Origin,
  now = new Date(),
) {
  const data = DeleteAccountInput.parse(input);
  const checked = await checkPassword(user.email, data.password, origin, now, { rehash: false });
  const revoked = await createTransaction(async (tx) => {
    await checked.accept();
    const [row] = await tx
      .select({ id: userTable.id, email: userTable.email, previous: userTable.previousEmails })
      .from(userTable)
      .where(eq(userTable.id, user.id))
      .for("update");
    if (!row) throw new AppError("unauthorized", "Sign in first");
    // Every address the account has had: mail, throttles and counters name the old ones too.
    const addresses = [row.email, ...row.previous];
    await Note.removeAllOf(row.id);
    const revoked = await tx
      .delete(sessionTable)
      .where(eq(sessionTable.userId, row.id))
      .returning({ tokenHash: sessionTable.tokenHash });
    await dropTokens(row.id);
    await tx.delete(throttle).where(inArray(throttle.email, addresses));
    for (const key of [
      ...addresses.flatMap((address) => [`login:email:${address}`, `reset:email:${address}`]),
      `verify:user:${row.id}`,
      `email:user:${row.id}`,
      `writes:${row.id}`,
    ]) {
      await Limit.reset(key);
    }
    await tx.delete(userTable).where(eq(userTable.id, row.id));
    await forgetPayloads([row.id, ...addresses]);
    await Mail.forgetAddresses(addresses);
    return revoked;
  });
  await forgetSessions(
    revoked.map((r) => r.tokenHash),
    user.id,
  );
}

/** Whether another account has `email` (a 409 at confirm time). */
async function taken(email: string, exceptUserID: string) {
  const [row] = await useTransaction((tx) =>
    tx
      .select({ id: userTable.id })
      .from(userTable)
      .where(and(eq(userTable.email, email), ne(userTable.id, exceptUserID))),
  );
  return row !== undefined;
}

const emailTaken = () =>
  new ConflictError("An account with this email already exists", { field: "newEmail" });

/**
 * Starts an email change: the password is checked as a sign-in; a confirmation link goes to the
 * new address unless another account has it (the same 202 either way), and a notice, masking it,
 * to the old address. Nothing changes
 * until `confirmEmailChange`.
 */
export async function requestEmailChange(
  user: Info,
  input: z.input<typeof ChangeEmailInput>,
  origin: Origin,
  now = new Date(),
) {
  const data = ChangeEmailInput.parse(input);
  if (data.newEmail === user.email) {
    throw new ValidationError([{ path: "newEmail", message: "is already your address" }]);
  }
  await limit(
    [{ key: `email:user:${user.id}`, rule: LOGIN_LIMITS.emailChanges }],
    now,
    "Too many email changes asked for; try again later",
  );
  const checked = await checkPassword(user.email, data.password, origin, now, { rehash: false });
  // The same work whether or not the new address has an account (no enumeration): the worker
  // looks that up, off the request's clock, and mails no link to a taken address (tokens.ts).
  await createTransaction(async () => {
    await checked.accept();
    await enqueue(sendEmailChangeTask, { userId: user.id, newEmail: data.newEmail });
  });
}

/**
 * Moves the account to the address the token was mailed to, which is then verified: the token is
 * used up. Taken meanwhile by another account: a 409 and the token stays (nothing changes).
 */
export async function confirmEmailChange(input: z.input<typeof TokenInput>, now = new Date()) {
  const { token } = TokenInput.parse(input);
  const user = await createTransaction(async () => {
    const { updated, previous } = await moveTo(token, now);
    // Links mailed to the old address stop working.
    await dropTokens(updated.id, "verify_email");
    await dropTokens(updated.id, "reset_password");
    // The old address hears of it again now it took effect (queued with the change: a rolled
    // back change mails nothing).
    await Mail.send(emailChangedNotice(previous, updated.email));
    return updated;
  }).catch((error: unknown) => {
    // A signup took the address between the check and the write: the unique index says so.
    if (sqlState(error) === "23505") throw emailTaken();
    throw error;
  });
  await refreshUser(user.id);
  return toInfo(user);
}

/** A database error's SQLSTATE, drizzle's wrapper or the driver's error itself. */
function sqlState(error: unknown): string | undefined {
  for (let e = error; e instanceof Error; e = e.cause) {
    if ("code" in e && typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}

/** The user moved to the address `token` was mailed to, in the caller's transaction; it is used up. */
async function moveTo(token: string, now: Date) {
  const found = await findToken("change_email", token, now);
  if (!found) throw invalidToken();
  if (await taken(found.email, found.userId)) throw emailTaken();
  const [before] = await useTransaction((tx) =>
    tx
      .select({ email: userTable.email })
      .from(userTable)
      .where(eq(userTable.id, found.userId))
      .for("update"),
  );
  if (!before) throw invalidToken();
  const [updated] = await useTransaction((tx) =>
    tx
      .update(userTable)
      .set({
        email: found.email,
        emailVerifiedAt: now,
        updatedAt: now,
        // What the account deletion must also forget (deleteAccount).
        previousEmails: sql`array_append(${userTable.previousEmails}, ${before.email})`,
      })
      .where(eq(userTable.id, found.userId))
      .returning(),
  );
  if (!updated) throw invalidToken();
  await spendToken(found.tokenHash);
  return { updated, previous: before.email };
}

// ---------------------------------------------------------------- operator actions (admin/)

/** A user as the operator console shows them: never the password hash. */
export const OperatorInfo = Info.extend({
  /** When an operator disabled the account; null while it may sign in. */
  disabledAt: z.string().nullable(),
  /** Live sessions (not expired, within the absolute lifetime). */
  sessions: z.number().int(),
});
export type OperatorInfo = z.infer<typeof OperatorInfo>;

export const OperatorListInput = z.strictObject({
  /** Emails starting with this (lower-cased, as they are stored). */
  email: z.string().trim().toLowerCase().max(254).optional(),
  /** The last email of the previous page. */
  cursor: z.string().max(254).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
export type OperatorListInput = z.input<typeof OperatorListInput>;

function liveSessionCount(now: Date) {
  const bornAfter = new Date(now.getTime() - hours(config().session.absoluteTtlHours));
  // Spelled out: in a select list drizzle writes columns unqualified, and a bare "id" in the
  // subquery would be the session's.
  return sql<number>`(select count(*)::int from "session" as s
    where s.user_id = "user"."id"
      and s.expires_at > ${timestamp(now)}
      and s.created_at > ${timestamp(bornAfter)})`;
}

function toOperatorInfo(row: typeof userTable.$inferSelect & { sessions: number }): OperatorInfo {
  return {
    ...toInfo(row),
    disabledAt: row.disabledAt?.toISOString() ?? null,
    sessions: row.sessions,
  };
}

/** Users by email (ascending, keyset on the unique email), optionally those starting with `email`. */
export async function listForOperator(
  input: OperatorListInput,
  now = new Date(),
): Promise<{ users: OperatorInfo[]; nextCursor: string | null }> {
  const { email, cursor, limit } = OperatorListInput.parse(input);
  const rows = await useTransaction((tx) =>
    tx
      .select({ user: userTable, sessions: liveSessionCount(now) })
      .from(userTable)
      .where(
        and(
          email ? sql`starts_with(${userTable.email}, ${email})` : undefined,
          cursor !== undefined ? gt(userTable.email, cursor) : undefined,
        ),
      )
      .orderBy(userTable.email)
      .limit(limit + 1),
  );
  const page = rows
    .slice(0, limit)
    .map((row) => toOperatorInfo({ ...row.user, sessions: row.sessions }));
  return { users: page, nextCursor: rows.length > limit ? (page.at(-1)?.email ?? null) : null };
}

/** One user for the console; unknown is a 404. */
export async function forOperator(userID: string, now = new Date()): Promise<OperatorInfo> {
  const [row] = await useTransaction((tx) =>
    tx
      .select({ user: userTable, sessions: liveSessionCount(now) })
      .from(userTable)
      .where(eq(userTable.id, userID)),
  );
  if (!row) throw new NotFoundError("User not found");
  return toOperatorInfo({ ...row.user, sessions: row.sessions });
}

/** The user with this address (normalized as sign-in does); unknown is a 404 naming it. */
export async function byEmail(email: string): Promise<Info> {
  const address = Email.parse(email);
  const [row] = await useTransaction((tx) =>
    tx.select().from(userTable).where(eq(userTable.email, address)),
  );
  if (!row) throw new NotFoundError(`No account has the email ${address}`);
  return toInfo(row);
}

/**
 * What the admin check needs, read fresh (not from the session cache), so a revoked role or a
 * disabled account stops reaching the console on its next request in every process.
 */
export async function access(
  userID: string,
): Promise<{ role: Info["role"]; email: string; disabled: boolean } | undefined> {
  const [row] = await atSite("account.access", () =>
    useTransaction((tx) =>
      tx
        .select({ role: userTable.role, email: userTable.email, disabledAt: userTable.disabledAt })
        .from(userTable)
        .where(eq(userTable.id, userID)),
    ),
  );
  return row && { role: row.role, email: row.email, disabled: row.disabledAt !== null };
}

/** Sets the user's role; returns the one it had. Cached sessions here learn it at once. */
export async function setRole(userID: string, role: Info["role"]): Promise<Info["role"]> {
  const [before] = await useTransaction((tx) =>
    tx
      .select({ role: userTable.role })
      .from(userTable)
      .where(eq(userTable.id, userID))
      .for("update"),
  );
  if (!before) throw new NotFoundError("User not found");
  if (before.role !== role) {
    await useTransaction((tx) =>
      tx.update(userTable).set({ role, updatedAt: new Date() }).where(eq(userTable.id, userID)),
    );
  }
  await refreshUser(userID);
  return before.role;
}

/**
 * Disables the account: it cannot sign in (a wrong-password 401, ADR 028) and every session and
 * mailed link is revoked: at once here, within SESSION_CACHE_SECONDS in other processes (their
 * caches; `authenticate` refuses a disabled user's session on its next read). Returns whether it
 * changed and how many sessions ended. Unknown is a 404.
 */
export async function disable(
  userID: string,
  now = new Date(),
): Promise<{ changed: boolean; sessionsRevoked: number }> {
  return createTransaction(async (tx) => {
    const [row] = await tx
      .select({ disabledAt: userTable.disabledAt })
      .from(userTable)
      .where(eq(userTable.id, userID))
      .for("update");
    if (!row) throw new NotFoundError("User not found");
    if (row.disabledAt === null) {
      await tx
        .update(userTable)
        .set({ disabledAt: now, updatedAt: now })
        .where(eq(userTable.id, userID));
    }
    const sessionsRevoked = await logoutEverywhere(userID);
    return { changed: row.disabledAt === null, sessionsRevoked };
  });
}

/** Lets a disabled account sign in again (its old sessions stay revoked). Unknown is a 404. */
export async function enable(userID: string, now = new Date()): Promise<{ changed: boolean }> {
  return createTransaction(async (tx) => {
    const [row] = await tx
      .select({ disabledAt: userTable.disabledAt })
      .from(userTable)
      .where(eq(userTable.id, userID))
      .for("update");
    if (!row) throw new NotFoundError("User not found");
    if (row.disabledAt !== null) {
      await tx
        .update(userTable)
        .set({ disabledAt: null, updatedAt: now })
        .where(eq(userTable.id, userID));
    }
    return { changed: row.disabledAt !== null };
  });
}

/** Ends every session of the user (an operator's "sign out everywhere"); unknown is a 404. */
export async function revokeAllSessions(userID: string): Promise<number> {
  return createTransaction(async (tx) => {
    const [row] = await tx
      .select({ id: userTable.id })
      .from(userTable)
      .where(eq(userTable.id, userID));
    if (!row) throw new NotFoundError("User not found");
    return logoutEverywhere(userID);
  });
}
