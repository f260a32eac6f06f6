import { createHash, randomBytes } from "node:crypto";
import { and, count, eq, gt, lt } from "drizzle-orm";
import { z } from "zod";
import { config } from "../config";
import { createTransaction, useTransaction } from "../db/transaction";
import { AppError, ConflictError } from "../error";
import { text } from "../http/text";
import { createID } from "../id";
import { loginFailureTable, sessionTable, userTable } from "./account.sql";
import { dummyHash, hashPassword, verifyPassword } from "./password";

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

export const LOGIN_FAILURE_LIMIT = 5;
export const LOGIN_FAILURE_WINDOW_MINUTES = 15;

const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

async function openSession(userID: string): Promise<Session> {
  const token = randomBytes(32).toString("base64url"); // 256 bits
  const expiresAt = new Date(Date.now() + config().session.ttlHours * 3_600_000);
  await useTransaction((tx) =>
    tx.insert(sessionTable).values({ tokenHash: hashToken(token), userId: userID, expiresAt }),
  );
  return { token, expiresAt };
}

export async function signup(input: SignupInput): Promise<{ user: Info; session: Session }> {
  const data = SignupInput.parse(input);
  const passwordHash = await hashPassword(data.password);
  return createTransaction(async (tx) => {
    const [user] = await tx
      .insert(userTable)
      .values({ id: createID("user"), email: data.email, name: data.name, passwordHash })
      .onConflictDoNothing({ target: userTable.email })
      .returning();
    if (!user)
      throw new ConflictError("An account with this email already exists", { field: "email" });
    return { user: toInfo(user), session: await openSession(user.id) };
  });
}

/**
 * Checks the credentials. An unknown email and a wrong password get the same error, after the
 * same work. After 5 failures for this email from this IP within 15 minutes, 429 until they age
 * out; a successful login clears them.
 */
export async function login(
  input: LoginInput,
  ip: string,
): Promise<{ user: Info; session: Session }> {
  const data = LoginInput.parse(input);
  const since = new Date(Date.now() - LOGIN_FAILURE_WINDOW_MINUTES * 60_000);
  const match = and(eq(loginFailureTable.email, data.email), eq(loginFailureTable.ip, ip));

  const [failures] = await useTransaction((tx) =>
    tx
      .select({ n: count() })
      .from(loginFailureTable)
      .where(and(match, gt(loginFailureTable.failedAt, since))),
  );
  if ((failures?.n ?? 0) >= LOGIN_FAILURE_LIMIT) {
    throw new AppError("rate_limited", "Too many failed attempts; try again later", {
      retryAfterSeconds: LOGIN_FAILURE_WINDOW_MINUTES * 60,
    });
  }

  const [user] = await useTransaction((tx) =>
    tx.select().from(userTable).where(eq(userTable.email, data.email)),
  );
  const valid = await verifyPassword(data.password, user?.passwordHash ?? (await dummyHash()));
  if (!user || !valid) {
    await useTransaction((tx) => tx.insert(loginFailureTable).values({ email: data.email, ip }));
    throw new AppError("unauthorized", "Wrong email or password");
  }
  return createTransaction(async (tx) => {
    await tx.delete(loginFailureTable).where(match);
    return { user: toInfo(user), session: await openSession(user.id) };
  });
}

/** Revokes the session server-side: the token stops working at once. */
export async function logout(token: string): Promise<void> {
  await useTransaction((tx) =>
    tx.delete(sessionTable).where(eq(sessionTable.tokenHash, hashToken(token))),
  );
}

/**
 * The user a session token belongs to, if the session is live. Sliding expiry: a session used
 * after a tenth of its lifetime is extended (at most one write per session every few hours).
 */
export async function authenticate(
  token: string,
): Promise<{ user: Info; session: Session; extended: boolean } | undefined> {
  const tokenHash = hashToken(token);
  const now = new Date();
  const [row] = await useTransaction((tx) =>
    tx
      .select({ user: userTable, expiresAt: sessionTable.expiresAt })
      .from(sessionTable)
      .innerJoin(userTable, eq(userTable.id, sessionTable.userId))
      .where(and(eq(sessionTable.tokenHash, tokenHash), gt(sessionTable.expiresAt, now))),
  );
  if (!row) return undefined;
  const ttl = config().session.ttlHours * 3_600_000;
  if (row.expiresAt.getTime() - now.getTime() >= ttl * 0.9) {
    return {
      user: toInfo(row.user),
      session: { token, expiresAt: row.expiresAt },
      extended: false,
    };
  }
  const expiresAt = new Date(now.getTime() + ttl);
  await useTransaction((tx) =>
    tx.update(sessionTable).set({ expiresAt }).where(eq(sessionTable.tokenHash, tokenHash)),
  );
  return { user: toInfo(row.user), session: { token, expiresAt }, extended: true };
}

/** Expired sessions and login failures past their window (maintenance.cleanup runs it). */
export async function deleteExpired(now = new Date()) {
  return useTransaction(async (tx) => {
    const sessions = await tx
      .delete(sessionTable)
      .where(lt(sessionTable.expiresAt, now))
      .returning({ id: sessionTable.tokenHash });
    const failures = await tx
      .delete(loginFailureTable)
      .where(
        lt(
          loginFailureTable.failedAt,
          new Date(now.getTime() - LOGIN_FAILURE_WINDOW_MINUTES * 60_000),
        ),
      )
      .returning({ id: loginFailureTable.id });
    return { sessions: sessions.length, loginFailures: failures.length };
  });
}
