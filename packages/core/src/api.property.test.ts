import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { as, rowCounts, signupUser } from "../test/app";
import { ORIGIN } from "../test/http";
import { app } from "./api";
import { createTransaction, rollback } from "./db/transaction";

/**
 * Random JSON bodies and headers thrown at every route, signed in or not: the API never answers
 * 5xx, and a request that does not succeed (non-2xx) changes nothing in the database. Each run
 * happens in a savepoint rolled back afterwards, so runs do not affect each other.
 */

const routes = [
  ...new Map(
    app.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => [`${r.method} ${r.path}`, { method: r.method, path: r.path }]),
  ).values(),
];

const undo = Symbol("undo");

describe("every route under random input", () => {
  it("never 500s, and changes nothing unless it answers 2xx", async () => {
    await rollback(async () => {
      const { cookie } = await signupUser();
      const { note } = (await (
        await as(cookie).send("POST", "/api/notes", { title: "target" })
      ).json()) as { note: { id: string } };
      const printable = fc.string({
        unit: fc.constantFrom(..."abcXYZ019 -_=;,./:@\"'{}[]<>%$".split("")),
        maxLength: 40,
      });

      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...routes),
          fc.oneof(
            fc.json({ maxDepth: 3 }),
            printable,
            fc.constant(undefined),
            // Near-valid bodies, so runs also reach the handlers and their writes.
            {
              arbitrary: fc.record(
                { title: printable, body: printable, extra: printable },
                { requiredKeys: ["title"] },
              ),
              weight: 3,
            },
            fc.record(
              { email: fc.emailAddress(), password: printable, name: printable },
              { requiredKeys: [] },
            ),
            fc.record({
              task: fc.constantFrom("maintenance.cleanup", "digest.daily", "nope"),
              payload: fc.json(),
            }),
          ),
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
              { arbitrary: printable, weight: 1 },
            ),
            signedIn: fc.oneof(
              { arbitrary: fc.constant(true), weight: 4 },
              { arbitrary: fc.constant(false), weight: 1 },
            ),
            randomCookie: fc.option(printable),
            id: fc.oneof(fc.constant(note.id), printable.map(encodeURIComponent)),
            query: fc.option(fc.dictionary(fc.constantFrom("limit", "cursor", "x"), printable)),
            requestId: fc.option(printable),
          }),
          async (route, body, h) => {
            const headers: Record<string, string> = {};
            if (h.contentType) headers["content-type"] = h.contentType;
            if (h.origin !== undefined) headers.origin = h.origin;
            if (h.signedIn) headers.cookie = cookie;
            else if (h.randomCookie)
              headers.cookie = `slipway_session=${encodeURIComponent(h.randomCookie)}`;
            if (h.requestId) headers["x-request-id"] = h.requestId;
            const search = h.query ? `?${new URLSearchParams(h.query)}` : "";
            const path = route.path.replace(":id", h.id || "x") + search;
            const hasBody = !["GET", "HEAD"].includes(route.method) && body !== undefined;

            await createTransaction(async () => {
              const before = await rowCounts();
              const response = await app.request(path, {
                method: route.method,
                headers,
                body: hasBody
                  ? typeof body === "string"
                    ? body
                    : JSON.stringify(body)
                  : undefined,
              });
              expect(response.status, `${route.method} ${path}`).toBeLessThan(500);
              if (response.status < 200 || response.status >= 300) {
                // The one write a failure makes on purpose: a failed login is counted for the
                // rate limit (exactly one login_failure row, nothing else).
                const failedLogin = route.path === "/api/auth/login" && response.status === 401;
                const expected = failedLogin
                  ? { ...before, login_failure: (before.login_failure ?? 0) + 1 }
                  : before;
                expect(await rowCounts()).toEqual(expected);
              }
              throw undo; // roll this run's savepoint back
            }).catch((error: unknown) => {
              if (error !== undo) throw error;
            });
          },
        ),
        { numRuns: 600 },
      );
    });
  }, 120_000);
});
