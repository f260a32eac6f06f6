import { sql } from "drizzle-orm";
import { testClient } from "hono/testing";
import { expect } from "vitest";
import { app, openAPIDocument, site } from "../src/api";
import { queryRows } from "../src/db/client";
import { useTransaction } from "../src/db/transaction";
import { watchResponses } from "./contract";
import { jsonRequest, ORIGIN } from "./http";
import { appTables } from "./tables";

// Every response the API gives a test through these (or `app.request`, `site.request`, a server
// on them) is checked against the OpenAPI document; setup.ts fails the test on a violation.
watchResponses(app, openAPIDocument);
watchResponses(site, openAPIDocument);

let counter = 0;

/**
 * The typed client on the app (or on one a test booted), as the site's fetch sends requests: with
 * the site's Origin, and signed in when given a session cookie. Response bodies are typed by the
 * routes, so a renamed field fails to compile.
 */
export function client(cookie?: string, target: typeof app = app) {
  return testClient(target, undefined, undefined, {
    headers: { origin: ORIGIN, ...(cookie ? { cookie } : {}) },
  });
}

/** A fresh user per call (unique email), signed up through the API; returns its cookie. */
export async function signupUser(
  overrides: Partial<{ email: string; password: string; name: string }> = {},
) {
  counter++;
  const body = {
    email: `user${counter}.${Date.now()}@example.com`,
    password: "a strong password",
    name: `User ${counter}`,
    ...overrides,
  };
  const response = await client().api.auth.signup.$post({ json: body });
  expect(response.status).toBe(201);
  return { cookie: sessionCookie(response), user: (await response.json()).user, ...body };
}

/** `name=value` of the session cookie a response sets (for the next request's Cookie header). */
export function sessionCookie(response: { headers: Headers }): string {
  const header = response.headers.get("set-cookie") ?? "";
  const pair = header.split(";")[0] ?? "";
  expect(pair).toMatch(/^slipway_session=.+/);
  return pair;
}

/**
 * Untyped requests as a signed-in user, for what the typed client cannot express: input that is
 * invalid on purpose. Bodies come back untyped; prefer `client(cookie)` for anything else.
 */
export function as(cookie: string) {
  return {
    get: (path: string) => app.request(path, { headers: { cookie } }),
    send: (method: string, path: string, body?: unknown) =>
      app.request(path, jsonRequest(body ?? {}, { method, headers: { cookie } })),
  };
}

// The task machinery writes these after a commit, on its own schedule (the relay fills the local
// queue, the worker writes receipts): counting them would race with work a request already finished.
const WRITTEN_AFTER_COMMIT = new Set(["local_queue_message", "task_receipt"]);
// A refused request still counts as a hit on its rate limit, by design (limit/limit.ts): the
// counters are not the data a request may not write.
const COUNTERS = new Set(["rate_limit"]);
const TABLES = (await appTables())
  .map((table) => table.name)
  .filter((name) => !WRITTEN_AFTER_COMMIT.has(name) && !COUNTERS.has(name));

/** Row counts of every table a request could write: "nothing written" is "these did not move". */
export async function rowCounts(): Promise<Record<string, number>> {
  const [row] = await useTransaction((tx) =>
    queryRows<Record<string, number>>(
      tx,
      sql.raw(
        `select ${TABLES.map((t) => `(select count(*)::int from "${t}") as "${t}"`).join(", ")}`,
      ),
    ),
  );
  return row ?? {};
}

/**
 * The user's own columns an UPDATE could change unseen by `rowCounts`: a "changes nothing" check
 * compares these before and after too (the password hash, the address, its verification).
 */
export async function userState(userID: string) {
  const [row] = await useTransaction((tx) =>
    queryRows<{ email: string; password_hash: string; email_verified_at: unknown }>(
      tx,
      sql`select email, password_hash, email_verified_at::text from "user" where id = ${userID}`,
    ),
  );
  expect(row, `user ${userID}`).toBeDefined();
  return row;
}
