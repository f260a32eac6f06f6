import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { as, rowCounts, signupUser } from "../test/app";
import { ORIGIN } from "../test/http";
import * as Account from "./account/account";
import { app } from "./api";
import { sanitizeFilename } from "./attachment/attachment";
import { createTransaction, rollback } from "./db/transaction";
import { MAX_TEXT_ISSUES } from "./http/text";

/**
 * Random requests thrown at every route, signed in or not, with strings over the whole of Unicode
 * and beyond: every code point (U+0000, controls, noncharacters, astral planes) and lone
 * surrogates, in JSON bodies, keys included, path parameters and query strings. The property:
 *
 * - the API never answers 5xx, and a request that does not succeed (non-2xx) changes nothing;
 * - text the database cannot store as sent (U+0000, a lone surrogate) in any input a route
 *   validates is a 400 `validation_failed` whose issues name exactly the offending fields;
 * - a 2xx stored the exact strings sent: read back through the API, they equal what was sent
 *   (after the normalization the schema documents: trimmed titles and names, lower-cased email,
 *   sanitized filenames).
 *
 * Each run happens in a savepoint rolled back afterwards, so runs do not affect each other.
 */

const NUL = "\u0000";

const routes = [
  ...new Map(
    app.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => [`${r.method} ${r.path}`, { method: r.method, path: r.path }]),
  ).values(),
];

// --- What is generated -------------------------------------------------------------------------

/** Any UTF-16 code unit: lone high and low surrogates, and now and then a pair. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
/** Any code point, U+0000 to U+10FFFF, or any code unit. */
const anyUnit = fc.oneof(fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), codeUnit);
/**
 * Strings over all of it: every code point, any code unit, printable text (most of what real
 * clients send, so runs also succeed), and strings holding the characters this is about.
 */
const text = fc.oneof(
  { arbitrary: fc.string({ unit: "binary", maxLength: 40 }), weight: 2 },
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: codeUnit, maxLength: 40 }),
  fc.string({ unit: anyUnit, maxLength: 40 }),
  fc
    .tuple(
      fc.string({ unit: anyUnit, maxLength: 10 }),
      fc.constantFrom(NUL, "\uD800", "\uDBFF", "\uDC00", "\uDFFF", "\uD83D\uDE00"),
      fc.string({ unit: anyUnit, maxLength: 10 }),
    )
    .map((parts) => parts.join("")),
);
/** What a header can carry: the Fetch API refuses NUL, CR, LF and anything above U+00FF in one. */
const headerText = fc
  .string({ unit: "binary-ascii", maxLength: 40 })
  .map((value) => value.replace(/[\0\r\n]/g, ""));
/**
 * A path segment or query part as sent: text percent-encoded (a URL cannot carry a lone surrogate:
 * it has no UTF-8), or raw percent-encoded bytes, invalid UTF-8 included.
 */
const urlPart = fc.oneof(
  fc.string({ unit: "binary", maxLength: 20 }).map(encodeURIComponent),
  fc
    .uint8Array({ maxLength: 12 })
    .map((bytes) => [...bytes].map((byte) => `%${byte.toString(16).padStart(2, "0")}`).join("")),
);

/** Bodies a route's schema nearly accepts, so runs also reach the handlers and their writes. */
const account = fc.record(
  {
    email: fc.oneof(fc.emailAddress(), fc.constant(" Some.One@Example.COM "), text),
    password: fc.oneof(fc.constant("a strong password"), text),
    name: text,
  },
  { requiredKeys: [] },
);
const nearValid: Record<string, fc.Arbitrary<unknown>> = {
  "POST /api/auth/signup": account,
  "POST /api/auth/login": account,
  "POST /api/notes": fc.record({ title: text, body: text }, { requiredKeys: ["title"] }),
  "PATCH /api/notes/:id": fc.record({ title: text, body: text }, { requiredKeys: [] }),
  "POST /api/notes/:id/attachments": fc.record({
    filename: text,
    contentType: fc.oneof(fc.constantFrom("image/png", "Text/Plain; charset=utf-8"), text),
    size: fc.integer({ min: 1, max: 10_000 }),
  }),
  "POST /api/dev/tasks/run": fc.record({
    task: fc.oneof(fc.constantFrom("maintenance.cleanup", "digest.daily"), text),
    payload: fc.jsonValue({ maxDepth: 2, stringUnit: anyUnit }),
  }),
};
/** Any body: any JSON (strings and keys over all of Unicode), any text, none, another route's. */
const anyBody = fc.oneof(
  fc.jsonValue({ maxDepth: 3, stringUnit: anyUnit }),
  text,
  fc.constant(undefined),
  fc.record({ title: text, extra: text }),
  ...Object.values(nearValid),
);
const bodyFor = (key: string) => {
  const near = nearValid[key];
  return near
    ? fc.oneof({ arbitrary: near, weight: 3 }, { arbitrary: anyBody, weight: 1 })
    : anyBody;
};

// --- The oracle: what the server receives, and which of it it must refuse ---------------------

/** Whether Postgres would not keep `value` as sent (decided here independently of http/text.ts). */
function unstorable(value: string): boolean {
  if (value.includes(NUL)) return true;
  try {
    encodeURIComponent(value); // throws exactly on a lone surrogate
    return false;
  } catch {
    return true;
  }
}

/** Dotted paths of every unstorable string or key in `value`. */
function offendersIn(value: unknown, path: string[] = []): string[] {
  if (typeof value === "string") return unstorable(value) ? [path.join(".")] : [];
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => [
    ...(!Array.isArray(value) && unstorable(key) ? [[...path, key].join(".")] : []),
    ...offendersIn(child, [...path, key]),
  ]);
}

/** How the server decodes a URL part; `undefined` when it is not UTF-8 (the server keeps it raw). */
function decoded(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** A target's offending paths, or `undefined` when the oracle cannot know what the server saw. */
type Offenders = string[] | undefined;

// --- What a 2xx must have stored -----------------------------------------------------------------

type Sent = Record<string, unknown>;
const str = (value: unknown) => value as string;

const readBack: Record<string, (sent: Sent, response: Response, cookie: string) => Promise<void>> =
  {
    "POST /api/auth/signup": async (sent, response) => {
      // The new session's cookie (a stale one sent along is cleared in the same response).
      const session = response.headers
        .getSetCookie()
        .map((header) => header.split(";")[0] ?? "")
        .find((pair) => /^slipway_session=./.test(pair));
      const me = (await (await as(session ?? "").get("/api/auth/me")).json()) as {
        user: { name: string; email: string };
      };
      expect(me.user.name).toBe(str(sent.name).trim());
      expect(me.user.email).toBe(str(sent.email).trim().toLowerCase());
    },
    "POST /api/notes": async (sent, response, cookie) => {
      const { note } = (await response.json()) as { note: { id: string } };
      const stored = await noteOf(cookie, note.id);
      expect(stored.title).toBe(str(sent.title).trim());
      expect(stored.body).toBe(sent.body ?? "");
    },
    "PATCH /api/notes/:id": async (sent, response, cookie) => {
      const { note } = (await response.json()) as { note: { id: string } };
      const stored = await noteOf(cookie, note.id);
      if (sent.title !== undefined) expect(stored.title).toBe(str(sent.title).trim());
      if (sent.body !== undefined) expect(stored.body).toBe(sent.body);
    },
    "POST /api/notes/:id/attachments": async (sent, response, cookie) => {
      const { attachment } = (await response.json()) as { attachment: { id: string } };
      const stored = (await (await as(cookie).get(`/api/attachments/${attachment.id}`)).json()) as {
        attachment: { filename: string };
      };
      expect(stored.attachment.filename).toBe(sanitizeFilename(str(sent.filename)));
    },
  };

async function noteOf(cookie: string, id: string) {
  const response = await as(cookie).get(`/api/notes/${id}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { note: { title: string; body: string } }).note;
}

interface Parts {
  contentType?: string | undefined;
  origin?: string | undefined;
  cookie?: string | undefined;
  randomCookie: string | null;
  id: string;
  query: Record<string, string> | null;
  requestId: string | null;
}

/**
 * The request to send, and what the server will make of it: the body as it arrives (UTF-8 on the
 * wire: a lone surrogate in raw text becomes U+FFFD, one in a JSON escape survives) parsed as
 * JSON, the URL parts decoded, and so the offending fields of each part the route validates.
 */
function prepare(
  route: { method: string; path: string },
  body: unknown,
  h: Parts,
  targets: { json: boolean; query: boolean; param: boolean },
) {
  const headers: Record<string, string> = {};
  if (h.contentType) headers["content-type"] = h.contentType;
  if (h.origin !== undefined) headers.origin = h.origin;
  if (h.cookie) headers.cookie = h.cookie;
  else if (h.randomCookie) headers.cookie = `slipway_session=${h.randomCookie}`;
  if (h.requestId) headers["x-request-id"] = h.requestId;
  const id = h.id || "x";
  const query = Object.entries(h.query ?? {});
  const search = h.query ? `?${query.map(([k, v]) => `${k}=${v}`).join("&")}` : "";
  const path = route.path.replace(":id", id) + search;
  const hasBody = !["GET", "HEAD"].includes(route.method) && body !== undefined;
  const bodyText = !hasBody ? "" : typeof body === "string" ? body : JSON.stringify(body);

  const received = new TextDecoder().decode(new TextEncoder().encode(bodyText));
  let parsed: unknown = {};
  let bodyOk = received.length === 0;
  if (received.length > 0 && /^application\/json/.test(h.contentType ?? "")) {
    try {
      parsed = JSON.parse(received);
      bodyOk = true;
    } catch {}
  }
  // A dot segment is resolved away by the URL parser: the request goes elsewhere.
  const pathOk = !/^(?:\.|%2e){1,2}$/i.test(id);
  const decodedID = decoded(id);
  const decodedQuery = query.map(([k, v]) => [decoded(k), decoded(v)] as const);
  const queryKnown =
    decodedQuery.every(([k, v]) => k !== undefined && v !== undefined) &&
    new Set(decodedQuery.map(([k]) => k)).size === decodedQuery.length;

  const offenders: Record<"json" | "query" | "param", Offenders> = {
    json: targets.json && bodyOk ? offendersIn(parsed) : [],
    query: !targets.query
      ? []
      : queryKnown
        ? decodedQuery.flatMap(([k, v]) =>
            unstorable(str(k)) || unstorable(str(v)) ? [str(k)] : [],
          )
        : undefined,
    // Only `:id` takes the generated id (prepare's path); a route whose parameter has another
    // name (`:name`, `:task`, `:traceId`) is asked with its pattern, so nothing of the id is in it.
    param:
      !targets.param || !route.path.includes(":id")
        ? []
        : decodedID === undefined || !pathOk
          ? undefined
          : unstorable(decodedID)
            ? ["id"]
            : [],
  };
  const offending = Object.values(offenders).some((paths) => paths && paths.length > 0);
  // Past the checks before validation (Origin, media type, JSON syntax, routing), it must be a 400.
  const originOk = route.method === "GET" || h.origin === ORIGIN;
  return {
    path,
    init: { method: route.method, headers, body: hasBody ? bodyText : undefined },
    parsed,
    label: `${route.method} ${path} ${JSON.stringify(received)}`,
    offenders,
    offending,
    mustRefuse: offending && bodyOk && originOk && pathOk,
  };
}

const undo = Symbol("undo");
const textIssue = /U\+0000|surrogate/;

/** The routes that check the caller's password (account.ts checkPassword), and count a wrong one. */
const checksPassword = new Set([
  "POST /api/auth/login",
  "POST /api/auth/password",
  "POST /api/auth/email",
  "DELETE /api/auth/me",
]);

describe("every route under random input", () => {
  it("never 5xx, refuses unstorable text naming the field, and stores exactly what it accepts", async () => {
    await rollback(async () => {
      const { cookie, user } = await signupUser();
      // An admin, so the console's routes are driven past their role check too (a member's 403
      // comes before any validation there; test/admin.ts covers that).
      await Account.setRole(user.id, "admin");
      const { note } = (await (
        await as(cookie).send("POST", "/api/notes", { title: "target" })
      ).json()) as { note: { id: string } };

      // Which parts of a request each route validates, from the OpenAPI document.
      const doc = (await (await app.request("/api/openapi.json")).json()) as {
        paths: Record<
          string,
          Record<string, { parameters?: { in: string }[]; requestBody?: unknown }>
        >;
      };
      const validates = (method: string, path: string) => {
        const operation = doc.paths[path.replace(/:(\w+)/g, "{$1}")]?.[method.toLowerCase()];
        const where = new Set(operation?.parameters?.map((parameter) => parameter.in));
        return {
          json: Boolean(operation?.requestBody),
          query: where.has("query"),
          param: where.has("path"),
        };
      };

      // Routes that take input are drawn more often, those that store text most.
      const request = fc.oneof(
        ...routes.map((route) => {
          const key = `${route.method} ${route.path}`;
          const targets = validates(route.method, route.path);
          const weight = readBack[key]
            ? 10
            : targets.json || targets.query || targets.param
              ? 3
              : 1;
          return { arbitrary: bodyFor(key).map((body) => ({ route, body })), weight };
        }),
      );

      // How many runs reached each end, so a change of weights cannot hollow the property out.
      let stored = 0;
      let refusedText = 0;
      await fc.assert(
        fc.asyncProperty(
          request,
          fc.record({
            // Weighted towards what passes the outer checks, so most runs reach the handlers.
            contentType: fc.oneof(
              { arbitrary: fc.constant("application/json"), weight: 6 },
              {
                arbitrary: fc.constantFrom(
                  "application/json; charset=utf-8",
                  "text/plain",
                  "application/x-www-form-urlencoded",
                  undefined,
                ),
                weight: 1,
              },
            ),
            origin: fc.oneof(
              { arbitrary: fc.constant(ORIGIN), weight: 6 },
              { arbitrary: fc.constantFrom("https://evil.example", undefined), weight: 1 },
              { arbitrary: headerText, weight: 1 },
            ),
            signedIn: fc.oneof(
              { arbitrary: fc.constant(true), weight: 4 },
              { arbitrary: fc.constant(false), weight: 1 },
            ),
            randomCookie: fc.option(urlPart),
            id: fc.oneof({ arbitrary: fc.constant(note.id), weight: 2 }, urlPart),
            query: fc.option(
              fc.dictionary(
                fc.oneof(fc.constantFrom("limit", "cursor", "x"), urlPart),
                fc.oneof(
                  urlPart,
                  fc.constant(note.id),
                  fc.integer({ min: -5, max: 200 }).map(String),
                ),
                { maxKeys: 4 },
              ),
            ),
            requestId: fc.option(headerText),
          }),
          async ({ route, body }, h) => {
            const { path, init, parsed, label, offenders, offending, mustRefuse } = prepare(
              route,
              body,
              { ...h, cookie: h.signedIn ? cookie : undefined },
              validates(route.method, route.path),
            );
            await createTransaction(async () => {
              const before = await rowCounts();
              const response = await app.request(path, init);
              expect(response.status, label).toBeLessThan(500);
              const ok = response.status >= 200 && response.status < 300;
              // The console's one check comes before its validation: signed out, a 401 first.
              const gated = route.path.startsWith("/api/admin") && !h.signedIn;
              if (mustRefuse && !gated) expect(response.status, label).toBe(400);
              if (response.status === 400) {
                const { error } = (await response.clone().json()) as {
                  error: { code: string; message: string; details?: { issues?: Issue[] } };
                };
                const named = new Set(
                  (error.details?.issues ?? [])
                    .filter((issue) => textIssue.test(issue.message))
                    .map((issue) => issue.path),
                );
                const target = /^Invalid request (json|query|param)$/.exec(error.message)?.[1];
                const expected = target ? offenders[target as keyof typeof offenders] : [];
                if (error.code === "validation_failed" && expected !== undefined) {
                  if (named.size > 0) refusedText++;
                  if (expected.length <= MAX_TEXT_ISSUES) {
                    expect(named, label).toEqual(new Set(expected));
                  } else {
                    for (const field of named) expect(expected, label).toContain(field);
                  }
                }
              }
              if (ok) {
                expect(offending, label).toBe(false);
                const check = readBack[`${route.method} ${route.path}`];
                if (check) {
                  stored++;
                  await check(parsed as Sent, response, cookie);
                }
              } else {
                // The one write a failure makes on purpose: a wrong password is counted for the
                // email's sign-in throttle (one login_throttle row, nothing else; rowCounts leaves
                // out the rate-limit counters, which move on every counted request). Every route
                // that checks the password counts it (account.ts checkPassword): signing in, and
                // re-authenticating to change the password or the email or to delete the account,
                // so none of them is a way around the throttle.
                const failedLogin =
                  checksPassword.has(`${route.method} ${route.path}`) && response.status === 401;
                const expectedCounts = failedLogin
                  ? { ...before, login_throttle: (before.login_throttle ?? 0) + 1 }
                  : before;
                expect(await rowCounts(), label).toEqual(expectedCounts);
              }
              throw undo; // roll this run's savepoint back
            }).catch((error: unknown) => {
              if (error !== undo) throw error;
            });
          },
        ),
        { numRuns: 2000 },
      );
      // With every route in the draw (the console's and the dev tools' among them), of 1000 runs
      // only 31–39 stored text and were read back and 57–61 were refused naming a field (measured
      // this session): 2000 runs keep both well clear of the floor below.
      expect(stored).toBeGreaterThan(30);
      expect(refusedText).toBeGreaterThan(30);
    });
  }, 180_000);
});

interface Issue {
  path: string;
  message: string;
}
