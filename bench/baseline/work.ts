import { createHash } from "node:crypto";
import postgres from "postgres";
import { monotonicFactory } from "ulid";

/**
 * What the API bench's references do for each measured route (bench/api.ts), without the HTTP:
 * the statements Slipway runs (the SQL text drizzle generates, copied verbatim, in the same
 * order and transaction shape) and the JSON bodies it answers. Two transports serve it: raw
 * `node:http` (api-baseline.ts, the baseline) and Hono on @hono/node-server (api-hono.ts, the
 * framework's floor), so what differs between them is the HTTP layer alone.
 *
 * Statements are prepared, as postgres.js's tagged templates are by default: the platform at its
 * natural speed. Configured by the same variables as the app: DATABASE_URL, PORT,
 * DATABASE_POOL_MAX, DATABASE_STATEMENT_TIMEOUT_MS, SESSION_TTL_HOURS,
 * SESSION_ABSOLUTE_TTL_HOURS, COOKIE_SECURE, QUOTA_WRITES_PER_MINUTE, QUOTA_NOTES_PER_USER.
 */

const env = process.env;
const number = (name: string, fallback: number) =>
  env[name] === undefined || env[name] === "" ? fallback : Number(env[name]);
const databaseURL = env.DATABASE_URL;
if (!databaseURL) throw new Error("DATABASE_URL is required");
export const port = number("PORT", 3100);
const ttlMs = number("SESSION_TTL_HOURS", 24 * 14) * 3_600_000;
const absoluteMs = number("SESSION_ABSOLUTE_TTL_HOURS", 24 * 30) * 3_600_000;
const writesPerMinute = number("QUOTA_WRITES_PER_MINUTE", 60);
const notesPerUser = number("QUOTA_NOTES_PER_USER", 1000);
export const cookieName =
  env.COOKIE_SECURE === "true" ? "__Host-slipway_session" : "slipway_session";

export const sql = postgres(databaseURL, {
  max: number("DATABASE_POOL_MAX", 5),
  idle_timeout: 30,
  connection: { statement_timeout: number("DATABASE_STATEMENT_TIMEOUT_MS", 20_000) },
  onnotice: () => {},
});
const prepared = { prepare: true } as const;
const ulid = monotonicFactory();

// The statements, as drizzle writes them for account.ts, note.ts and limit/limit.ts.
const SESSION = `select "user"."id", "user"."email", "user"."name", "user"."email_verified_at", "user"."role", "user"."created_at", "session"."created_at", "session"."expires_at", "session"."last_used_at" from "session" inner join "user" on "user"."id" = "session"."user_id" where ("session"."token_hash" = $1 and "session"."expires_at" > $2 and "session"."created_at" > $3 and "user"."disabled_at" is null)`;
const EXTEND = `update "session" set "expires_at" = $1 where "session"."token_hash" = $2`;
const NOTE = `select "id", "user_id", "title", "body", "created_at", "updated_at" from "note" where ("note"."id" = $1 and "note"."user_id" = $2)`;
const LIST = `select "id", "user_id", "title", "body", "created_at", "updated_at" from "note" where "note"."user_id" = $1 order by "note"."id" desc limit $2`;
const HIT = `insert into "rate_limit" ("key", "window_start", "expires_at", "count") values ($1, $2, $3, $4) on conflict ("key","window_start") do update set "count" = "rate_limit"."count" + 1 returning "count"`;
const LOCK = "select pg_advisory_xact_lock(hashtextextended($1, 0))";
const COUNT = `select count(*) from "note" where "note"."user_id" = $1`;
const INSERT = `insert into "note" ("id", "user_id", "title", "body", "created_at", "updated_at") values ($1, $2, $3, $4, default, default) returning "id", "user_id", "title", "body", "created_at", "updated_at"`;

type Row = unknown[];
const iso = (value: unknown) => new Date(value as string | Date).toISOString();
const noteJSON = (row: Row) => ({
  id: row[0] as string,
  title: row[2] as string,
  body: row[3] as string,
  createdAt: iso(row[4]),
  updatedAt: iso(row[5]),
});

export interface User {
  id: string;
  email: string;
  name: string;
  emailVerified: boolean;
  role: string;
  createdAt: string;
}

/** An answer: its status and JSON body. */
export interface Answer {
  status: number;
  body: unknown;
}

export const error = (code: string, message: string) => ({ error: { code, message } });

/** The session cookie's value in a `Cookie` header. */
export function sessionToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === cookieName) {
      return decodeURIComponent(part.slice(eq + 1).trim());
    }
  }
  return undefined;
}

/** account.ts `authenticate`: live session joined to its user, slid forward when due. */
export async function authenticate(
  token: string | undefined,
): Promise<{ user: User; cookie?: string } | undefined> {
  if (!token) return undefined;
  const tokenHash = createHash("sha256").update(token).digest("hex");
  const now = Date.now();
  const [row] = await sql
    .unsafe(
      SESSION,
      [tokenHash, new Date(now).toISOString(), new Date(now - absoluteMs).toISOString()],
      prepared,
    )
    .values();
  if (!row) return undefined;
  const user = {
    id: row[0],
    email: row[1],
    name: row[2],
    emailVerified: row[3] !== null,
    role: row[4],
    createdAt: iso(row[5]),
  } as User;
  const createdAt = new Date(row[6] as string).getTime();
  const expiresAt = new Date(row[7] as string).getTime();
  const extended = Math.min(now + ttlMs, createdAt + absoluteMs);
  if (extended - expiresAt < ttlMs * 0.1) return { user };
  await sql.unsafe(EXTEND, [new Date(extended).toISOString(), tokenHash], prepared);
  const secure = cookieName.startsWith("__Host-") ? "; Secure" : "";
  const expires = new Date(extended).toUTCString();
  return {
    user,
    cookie: `${cookieName}=${token}; Path=/; Expires=${expires}; HttpOnly${secure}; SameSite=Lax`,
  };
}

/** note.ts `list`: the first page, newest first. */
export async function listNotes(user: User) {
  const limit = 20;
  const rows = await sql.unsafe(LIST, [user.id, limit + 1], prepared).values();
  const page = rows.slice(0, limit);
  const nextCursor = rows.length > limit ? ((page.at(-1)?.[0] as string) ?? null) : null;
  return { notes: page.map(noteJSON), nextCursor };
}

/** note.ts `fromID`: the user's note, or undefined (a 404). */
export async function readNote(user: User, id: string) {
  const [row] = await sql.unsafe(NOTE, [id, user.id], prepared).values();
  return row ? { note: noteJSON(row) } : undefined;
}

/** note.ts `create`, after the write-rate middleware's hit: the same statements, one transaction. */
export async function createNote(user: User, text: string): Promise<Answer> {
  let input: { title?: unknown; body?: unknown };
  try {
    input = JSON.parse(text) as typeof input;
  } catch {
    return { status: 400, body: error("malformed_json", "The request body is not valid JSON") };
  }
  const title = typeof input.title === "string" ? input.title.trim() : "";
  const body = input.body === undefined ? "" : input.body;
  if (title.length < 1 || title.length > 200 || typeof body !== "string" || body.length > 100_000) {
    return { status: 400, body: error("validation_failed", "The request is invalid") };
  }
  const nowMs = Date.now();
  const windowStart = Math.floor(nowMs / 60_000) * 60_000;
  const [hit] = await sql
    .unsafe(
      HIT,
      [
        `writes:${user.id}`,
        new Date(windowStart).toISOString(),
        new Date(windowStart + 60_000).toISOString(),
        1,
      ],
      prepared,
    )
    .values();
  if (Number(hit?.[0]) > writesPerMinute) {
    return { status: 429, body: error("rate_limited", "Too many changes") };
  }
  const row = await sql.begin(async (tx) => {
    await tx.unsafe(LOCK, [`quota:${user.id}`], prepared);
    const [held] = await tx.unsafe(COUNT, [user.id], prepared).values();
    if (Number(held?.[0] ?? 0) >= notesPerUser) return undefined;
    const [inserted] = await tx
      .unsafe(INSERT, [`not_${ulid()}`, user.id, title, body], prepared)
      .values();
    return inserted;
  });
  if (!row) return { status: 409, body: error("quota_exceeded", "Too many notes") };
  return { status: 201, body: { note: noteJSON(row) } };
}
