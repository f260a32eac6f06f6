import { RegExpRouter } from "hono/router/reg-exp-router";
import { describeRoute } from "hono-openapi";
import { describe, expect, it } from "vitest";
import { signupUser } from "../test/app";
import { bootApp, isolated } from "../test/database";
import { errorOf, ORIGIN } from "../test/http";
import { captureLogs } from "../test/logs";
import { app, site } from "./api";
import * as client from "./db/client";
import { passesThrough } from "./http/app";

/**
 * The error contract (README "The API contract", ADR 003) on `site`: what the Node server serves
 * (`npm run dev`, `npm run preview`, the container), the API with the offline store beside it.
 * A contract that holds on `app` can break where it is mounted, so every status is asked here:
 * under `/api`, under `/storage`, and at paths nothing serves. server.test.ts asks the same of
 * the built bundle over real HTTP.
 */

const REQUEST_ID = /^[0-9a-f-]{36}$/;

/** The status and error of a response, checked to be the JSON envelope with a request id. */
async function contractError(response: Response) {
  expect(response.headers.get("x-request-id")).toMatch(REQUEST_ID);
  expect(response.headers.get("cache-control")).toBe("no-store");
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  return { status: response.status, ...(await errorOf(response)) };
}

const withOrigin = (init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { origin: ORIGIN, ...(init.headers as Record<string, string> | undefined) },
});

/** The site anew, with its own config (`env`) on this file's database. */
async function bootSite(env: Record<string, string>) {
  await bootApp(env, await client.database());
  // The same module graph bootApp imported: its `site` runs with that config.
  return (await import("./api")).site;
}

describe("the served entry: the error contract on every path", () => {
  it.each([
    ["GET", "/api/no-such-thing"],
    ["GET", "/api"],
    ["GET", "/api/health/nope"],
    ["DELETE", "/api/no-such-thing"],
    ["GET", "/storage"],
    ["GET", "/storage/"],
    ["GET", "/"],
    ["GET", "/nope"],
    ["GET", "/index.html"],
    ["POST", "/nope"],
  ])("404 not_found as JSON for %s %s, which nothing serves", async (method, path) => {
    const response = await site.request(path, withOrigin({ method }));
    expect(await contractError(response)).toEqual({
      status: 404,
      code: "not_found",
      message: `No route for ${method} ${path}`,
    });
  });

  it("404 as JSON from a /storage route itself (a download from an unknown bucket)", async () => {
    const response = await site.request("/storage/no-such-bucket/some/key");
    expect(await contractError(response)).toMatchObject({ status: 404, code: "not_found" });
  });

  it.each([
    ["DELETE", "/api/health", ["GET", "HEAD"]],
    ["PUT", "/api/health/ready", ["GET", "HEAD"]],
    ["GET", "/api/auth/login", ["POST"]],
    // `/:bucket/*` matches the bucket itself too.
    ["DELETE", "/storage/uploads", ["POST", "GET", "HEAD"]],
    ["PUT", "/storage/uploads/attachments/some-key", ["GET", "HEAD"]],
  ])("405 method_not_allowed as JSON with Allow for %s %s", async (method, path, allowed) => {
    const response = await site.request(path, withOrigin({ method }));
    expect(response.headers.get("allow")).toBe(allowed.join(", "));
    expect(await contractError(response)).toEqual({
      status: 405,
      code: "method_not_allowed",
      message: `${method} is not allowed on ${path}`,
      details: { allowed },
    });
  });

  it("413 payload_too_large for an API body over BODY_LIMIT_BYTES and an upload over any policy", async () => {
    const booted = await bootSite({ BODY_LIMIT_BYTES: "64", ATTACHMENT_MAX_BYTES: "1" });
    const api = await booted.request(
      "/api/auth/login",
      withOrigin({
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "a@example.com", password: "x".repeat(64) }),
      }),
    );
    expect(await contractError(api)).toMatchObject({
      status: 413,
      code: "payload_too_large",
      details: { limitBytes: 64 },
    });
    // The store takes forms up to the largest file a policy allows plus 64 KiB of fields.
    const upload = await booted.request("/storage/uploads", {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=x" },
      body: "x".repeat(64 * 1024 + 2),
    });
    expect(await contractError(upload)).toMatchObject({ status: 413, code: "payload_too_large" });
  });

  it("415 unsupported_media_type for an API body that is not JSON and an upload that is not a form", async () => {
    const api = await site.request(
      "/api/auth/login",
      withOrigin({ method: "POST", headers: { "content-type": "text/plain" }, body: "hello" }),
    );
    expect(await contractError(api)).toMatchObject({
      status: 415,
      code: "unsupported_media_type",
      message: "Request bodies must be application/json, not text/plain",
    });
    const upload = await site.request("/storage/uploads", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "hello",
    });
    expect(await contractError(upload)).toMatchObject({
      status: 415,
      code: "unsupported_media_type",
    });
  });

  it("400 for malformed JSON, for input that breaks its schema, and for a broken upload form", async () => {
    const post = (body: string) =>
      site.request(
        "/api/auth/login",
        withOrigin({ method: "POST", headers: { "content-type": "application/json" }, body }),
      );
    expect(await contractError(await post('{"email":'))).toEqual({
      status: 400,
      code: "malformed_json",
      message: "The request body is not valid JSON",
    });
    const invalid = await contractError(await post("{}"));
    expect(invalid).toMatchObject({ status: 400, code: "validation_failed" });
    expect(invalid.details?.issues?.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(["email", "password"]),
    );
    const form = await site.request("/storage/uploads", {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=x" },
      body: "not a form",
    });
    expect(await contractError(form)).toMatchObject({ status: 400, code: "bad_request" });
  });

  it("401 and 403 in the same envelope", async () => {
    expect(await contractError(await site.request("/api/auth/me"))).toMatchObject({
      status: 401,
      code: "unauthorized",
    });
    const foreign = await site.request("/api/auth/logout", {
      method: "POST",
      headers: { origin: "https://evil.example" },
    });
    expect(await contractError(foreign)).toMatchObject({ status: 403, code: "forbidden" });
  });

  it("x-request-id on every response, a well-formed incoming one kept, and one log line per request under it", async () => {
    const booted = await bootSite({ LOG_LEVEL: "info" });
    const logs = captureLogs();
    const requests: [string, RequestInit?][] = [
      ["/api/health"],
      ["/api/no-such-thing"],
      ["/api/health", withOrigin({ method: "DELETE" })],
      ["/nope"],
      ["/storage"],
      ["/storage/uploads", withOrigin({ method: "DELETE" })],
      ["/storage/no-such-bucket/key"],
      [
        "/storage/uploads",
        { method: "POST", headers: { "content-type": "text/plain" }, body: "x" },
      ],
    ];
    const ids: string[] = [];
    for (const [path, init] of requests) {
      const response = await booted.request(path, init);
      const id = response.headers.get("x-request-id") ?? "";
      expect(id, `${init?.method ?? "GET"} ${path}`).toMatch(REQUEST_ID);
      ids.push(id);
    }
    const logged = logs.filter((line) => line.message === "request").map((line) => line.requestId);
    expect(logged).toEqual(ids);

    for (const path of ["/api/no-such-thing", "/nope", "/storage", "/storage/no-such-bucket/k"]) {
      const traced = await booted.request(path, { headers: { "x-request-id": "edge-abc123" } });
      expect(traced.headers.get("x-request-id"), path).toBe("edge-abc123");
    }
  });
});

describe("the served entry: no response is stored by a cache", () => {
  // Fails without the fix: no Cache-Control at all, so CloudFront's cache policy on /api (and a
  // browser's heuristics) decided whether one user's answer could be served to another.
  it("Cache-Control: no-store on every answer: successes, errors, 404s and 405s, the API and the offline store", async () =>
    isolated(async () => {
      const { cookie } = await signupUser();
      const requests: [string, RequestInit?][] = [
        ["/api/health"],
        ["/api/health/ready"],
        ["/api/openapi.json"],
        ["/api/auth/me", { headers: { cookie } }],
        ["/api/notes", { headers: { cookie } }],
        ["/api/auth/me"],
        ["/api/no-such-thing"],
        ["/api/health", withOrigin({ method: "DELETE" })],
        ["/api/auth/logout", { method: "POST", headers: { origin: "https://evil.example" } }],
        [
          "/api/auth/login",
          withOrigin({ method: "POST", headers: { "content-type": "text/plain" }, body: "x" }),
        ],
        ["/nope"],
        ["/storage"],
        ["/storage/uploads", withOrigin({ method: "DELETE" })],
        ["/storage/no-such-bucket/key"],
        [
          "/storage/uploads",
          { method: "POST", headers: { "content-type": "text/plain" }, body: "x" },
        ],
      ];
      const statuses = new Set<number>();
      for (const [path, init] of requests) {
        const response = await site.request(path, init);
        statuses.add(response.status);
        expect(response.headers.get("cache-control"), `${init?.method ?? "GET"} ${path}`).toBe(
          "no-store",
        );
      }
      // The list covers what it says it does.
      expect([...statuses].sort()).toEqual([200, 401, 403, 404, 405, 415]);
    }));
});

describe("the served entry's router", () => {
  // SmartRouter takes the first router that accepts every route: one path RegExpRouter refuses
  // (a static segment beside a parameter with children, `/x/all` beside `/x/:id/go`) silently
  // puts every request on the TrieRouter, ~3% of a note read's CPU (bench api's profile).
  it("every route fits Hono's RegExpRouter", () => {
    const router = new RegExpRouter();
    for (const route of site.routes) router.add(route.method, route.path, route.handler);
    expect(() => router.match("GET", "/api/health")).not.toThrow();
  });

  // Every handler a request passes is an async hop: mountApp leaves out those that do nothing.
  it("serves the API without its no-op hops, and those really do nothing", async () => {
    const served = new Set(site.routes.map((route) => route.handler));
    const skipped = app.routes.filter((route) => !served.has(route.handler));
    expect(skipped.length).toBeGreaterThan(40);
    expect(skipped.every((route) => passesThrough(route.handler))).toBe(true);
    // Left in the site: its own request context only (the app's, the same middleware, would be a
    // second ALL /* entry).
    const kept = site.routes.filter((route) => passesThrough(route.handler));
    expect(kept.map((route) => [route.method, route.path])).toEqual([["ALL", "/*"]]);
    // The describeRoutes skipped: one per operation.
    const operations = new Set(
      app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`),
    );
    expect(skipped.filter((route) => route.method !== "ALL").length).toBe(operations.size);
    // hono-openapi's describeRoute calls next() once and reads nothing of the request: a context
    // that throws on any use proves it (a release giving it work fails here, not silently).
    const untouchable = new Proxy(
      {},
      {
        get: (_t, key) => {
          throw new Error(`describeRoute read ${String(key)}`);
        },
      },
    );
    let calls = 0;
    const next = async () => {
      calls++;
    };
    await describeRoute({ summary: "x" })(untouchable as never, next);
    expect(calls).toBe(1);
  });
});
