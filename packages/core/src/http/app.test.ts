import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { describe, expect, it, onTestFinished } from "vitest";
import * as z from "zod";
import { bootApp } from "../../test/database";
import { jsonRequest, ORIGIN } from "../../test/http";
import { captureLogs } from "../../test/logs";
import { app as api, site } from "../api";
import { createApp } from "./app";
import { validate } from "./validate";

/**
 * The platform's error contract, exercised through a probe module mounted on the same
 * `createApp()` the real API uses. `calls` counts handler runs: every rejected request below
 * leaves it at 0, which is what "bad input changes nothing" means at this layer.
 */
function probeApp() {
  const state = { calls: 0 };
  const Note = z.object({
    title: z.string().min(1).max(200),
    tags: z.array(z.string()).max(3).optional(),
  });
  const app = createApp()
    .basePath("/api")
    .post("/probe", validate("json", Note), (c) => {
      state.calls++;
      return c.json({ received: c.req.valid("json") }, 201);
    })
    .get("/probe/boom", () => {
      throw new Error("secret internals: password=hunter2");
    });
  return { app, state };
}

/** Serves `app` through @hono/node-server on a free loopback port until the test ends. */
async function listen(app: { fetch: (request: Request) => Response | Promise<Response> }) {
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await new Promise((resolve) => server.once("listening", resolve));
  return (server.address() as AddressInfo).port;
}

const json = (body: string, contentType = "application/json") =>
  jsonRequest(body, { headers: { "content-type": contentType } });

async function errorOf(response: Response) {
  const body = (await response.json()) as {
    error: { code: string; message: string; details?: unknown };
  };
  return { status: response.status, ...body.error };
}

describe("HTTP error contract", () => {
  it("accepts a valid JSON body", async () => {
    const { app, state } = probeApp();
    const response = await app.request("/api/probe", json('{"title":"hello"}'));
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ received: { title: "hello" } });
    expect(state.calls).toBe(1);
  });

  it("400 malformed_json for a body that is not JSON", async () => {
    const { app, state } = probeApp();
    const response = await app.request("/api/probe", json('{"title": "unterminated'));
    expect(await errorOf(response)).toEqual({
      status: 400,
      code: "malformed_json",
      message: "The request body is not valid JSON",
    });
    expect(state.calls).toBe(0);
  });

  it("400 validation_failed with the field-level issues", async () => {
    const { app, state } = probeApp();
    const response = await app.request("/api/probe", json('{"title":"","tags":["a","b","c","d"]}'));
    const error = await errorOf(response);
    expect(error).toMatchObject({ status: 400, code: "validation_failed" });
    const paths = (error.details as { issues: { path: string; message: string }[] }).issues.map(
      (i) => i.path,
    );
    expect(paths.sort()).toEqual(["tags", "title"]);
    expect(state.calls).toBe(0);
  });

  it("415 for a body of another content type, and for an untyped one", async () => {
    const { app, state } = probeApp();
    const text = await app.request("/api/probe", json('{"title":"x"}', "text/plain"));
    expect(await errorOf(text)).toMatchObject({ status: 415, code: "unsupported_media_type" });
    const form = await app.request(
      "/api/probe",
      json("title=x", "application/x-www-form-urlencoded"),
    );
    expect(await errorOf(form)).toMatchObject({ status: 415, code: "unsupported_media_type" });
    const untyped = await app.request(
      new Request("http://local/api/probe", {
        method: "POST",
        headers: { origin: ORIGIN },
        body: new Blob(['{"title":"x"}']),
      }),
    );
    expect(await errorOf(untyped)).toMatchObject({
      status: 415,
      message: expect.stringMatching(/untyped/),
    });
    expect(state.calls).toBe(0);
  });

  it("413 above the 1 MB default limit, and accepts a body of exactly the limit", async () => {
    const { app, state } = probeApp();
    const limit = 1024 * 1024;
    const exact = '{"title":"x"}'.padEnd(limit, " ");
    expect((await app.request("/api/probe", json(exact))).status).toBe(201);
    const over = await app.request("/api/probe", {
      ...json(`${exact} `),
      headers: {
        "content-type": "application/json",
        origin: ORIGIN,
        "content-length": String(limit + 1),
      },
    });
    expect(await errorOf(over)).toMatchObject({
      status: 413,
      code: "payload_too_large",
      details: { limitBytes: limit },
    });
    expect(state.calls).toBe(1);
  });

  it("413 for a chunked upload without Content-Length, through the real node server", async () => {
    const { app, state } = probeApp();
    const port = await listen(app);

    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          port,
          host: "127.0.0.1",
          method: "POST",
          path: "/api/probe",
          headers: { "content-type": "application/json", origin: ORIGIN },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      // 2 MB in 64 KB chunks: Node sends Transfer-Encoding: chunked, so only the stream tells the size.
      const chunk = " ".repeat(64 * 1024);
      req.write('{"title":"x"}');
      for (let i = 0; i < 32; i++) req.write(chunk);
      req.end();
    });
    expect(status).toBe(413);
    expect(state.calls).toBe(0);
  });

  it("through the real node server, a body framed by Content-Length is held to the limit by its length: exactly the limit is read and served, one byte more is 413 unread, and malformed or untyped bodies keep their errors", async () => {
    const { app, state } = probeApp();
    const port = await listen(app);
    const post = (body: string, contentType = "application/json") =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          {
            port,
            host: "127.0.0.1",
            method: "POST",
            path: "/api/probe",
            headers: {
              "content-type": contentType,
              origin: ORIGIN,
              "content-length": Buffer.byteLength(body),
            },
          },
          (res) => {
            let text = "";
            res.on("data", (chunk: Buffer) => {
              text += chunk;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    const limit = 1024 * 1024;
    const exact = '{"title":"x"}'.padEnd(limit, " ");
    expect((await post(exact)).status).toBe(201);
    expect(state.calls).toBe(1);
    const over = await post(`${exact} `);
    expect(over.status).toBe(413);
    expect(JSON.parse(over.body)).toMatchObject({
      error: { code: "payload_too_large", details: { limitBytes: limit } },
    });
    expect((await post("{not json")).status).toBe(400);
    expect((await post("title=x", "application/x-www-form-urlencoded")).status).toBe(415);
    expect((await post("")).status).toBe(400); // no body: the schema's title is missing
    expect(state.calls).toBe(1);
  });

  it("takes the limit from BODY_LIMIT_BYTES", async () => {
    const { app } = await bootApp({ BODY_LIMIT_BYTES: "64" });
    const response = await app.request("/api/health", json(`{"pad":"${"x".repeat(64)}"}`));
    expect(await errorOf(response)).toMatchObject({ status: 413, details: { limitBytes: 64 } });
  });

  it("403 for an unsafe request from another origin or with no Origin; safe methods need none", async () => {
    const { app, state } = probeApp();
    const foreign = await app.request(
      "/api/probe",
      jsonRequest({ title: "x" }, { headers: { origin: "https://evil.example" } }),
    );
    expect(await errorOf(foreign)).toEqual({
      status: 403,
      code: "forbidden",
      message: "Requests from https://evil.example are not allowed",
    });
    const missing = await app.request("/api/probe", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"title":"x"}',
    });
    expect(await errorOf(missing)).toMatchObject({
      status: 403,
      message: "The Origin header is required",
    });
    expect(state.calls).toBe(0);
    expect((await api.request("/api/health")).status).toBe(200);
  });

  it("sets security headers, no-store and a request id on every API response, errors included, on the served site as on the app", async () => {
    const post = (init: RequestInit) => ({
      method: "POST",
      ...init,
      headers: { origin: ORIGIN, "content-type": "application/json", ...init.headers },
    });
    const cases: [string, RequestInit, number][] = [
      ["/api/health", {}, 200],
      ["/api/no-such-thing", {}, 404],
      ["/api/health", { method: "DELETE", headers: { origin: ORIGIN } }, 405],
      ["/api/notes", post({ headers: { origin: "https://evil.example" }, body: "{}" }), 403],
      ["/api/notes", post({ body: "{" }), 400],
      ["/api/notes", post({ headers: { "content-type": "text/plain" }, body: "x" }), 415],
      ["/api/notes", post({ body: JSON.stringify({ title: "x".repeat(2_000_000) }) }), 413],
      ["/api/notes", post({ body: JSON.stringify({ title: "x", body: "" }) }), 401],
    ];
    // The checks run in one middleware that turns a refusal into its response itself (http/app.ts
    // `contained`): the headers set around them must still reach the refusal.
    for (const target of [api, site]) {
      for (const [path, init, status] of cases) {
        const response = await target.request(path, init);
        const label = `${init.method ?? "GET"} ${path} -> ${status}`;
        expect(response.status, label).toBe(status);
        expect(response.headers.get("x-content-type-options"), label).toBe("nosniff");
        expect(response.headers.get("x-frame-options"), label).toBe("SAMEORIGIN");
        expect(response.headers.get("strict-transport-security"), label).toMatch(/max-age=/);
        expect(response.headers.get("cache-control"), label).toBe("no-store");
        expect(response.headers.get("x-request-id"), label).toMatch(/^[0-9a-f-]{36}$/);
      }
    }

    // Served by Node, these headers go onto Node's response before the route runs (http/app.ts
    // `defaultHeader`) rather than through Hono's: each answer must carry exactly the headers it
    // carries in process, a route's own (the reference page's CSP, the document's JSON type)
    // included. What only the wire has (framing, date) and the per-request ids are set aside.
    const port = await listen(site);
    const wireOnly = new Set(["date", "connection", "keep-alive", "content-length"]);
    const comparable = (response: Response) => {
      expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.headers.get("x-trace-id")).toMatch(/^[0-9a-f]{32}$/);
      return [...response.headers]
        .filter(([name]) => !wireOnly.has(name) && name !== "x-request-id" && name !== "x-trace-id")
        .sort(([a], [b]) => a.localeCompare(b));
    };
    const everyKind: [string, RequestInit, number][] = [
      ...cases,
      ["/api/docs", {}, 200],
      ["/api/openapi.json", {}, 200],
    ];
    for (const [path, init, status] of everyKind) {
      const label = `${init.method ?? "GET"} ${path} -> ${status}`;
      const served = await fetch(`http://127.0.0.1:${port}${path}`, init);
      const inProcess = await site.request(path, init);
      expect(served.status, label).toBe(status);
      expect(comparable(served), label).toEqual(comparable(inProcess));
      await served.arrayBuffer();
    }
  });

  it("404 as JSON for an unknown /api route", async () => {
    const response = await api.request("/api/no-such-thing");
    expect(await errorOf(response)).toEqual({
      status: 404,
      code: "not_found",
      message: "No route for GET /api/no-such-thing",
    });
  });

  it("405 with Allow for a known route asked with another method", async () => {
    const response = await api.request("/api/health", {
      method: "DELETE",
      headers: { origin: ORIGIN },
    });
    expect(response.headers.get("allow")).toBe("GET, HEAD");
    expect(await errorOf(response)).toMatchObject({
      status: 405,
      code: "method_not_allowed",
      details: { allowed: ["GET", "HEAD"] },
    });
  });

  it("500 with a generic message; the error and the request id go to the log, not the response", async () => {
    const { app } = probeApp();
    const logs = captureLogs();
    const response = await app.request("/api/probe/boom");
    const text = await response.text();
    expect(response.status).toBe(500);
    expect(JSON.parse(text)).toEqual({
      error: { code: "internal_error", message: "Something went wrong on our side" },
    });
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("at ");

    const requestId = response.headers.get("x-request-id");
    const logged = logs.find((line) => line.message === "unhandled error");
    expect(logged).toMatchObject({ level: "error", requestId, path: "/api/probe/boom" });
    expect(JSON.stringify(logged)).toContain("secret internals");
  });

  it("puts x-request-id on every response, and keeps a well-formed incoming one", async () => {
    const { app } = probeApp();
    const responses = await Promise.all([
      api.request("/api/health"),
      api.request("/api/nope"),
      app.request("/api/probe", json("{")),
    ]);
    for (const response of responses) {
      expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    }
    const traced = await api.request("/api/health", { headers: { "x-request-id": "edge-abc123" } });
    expect(traced.headers.get("x-request-id")).toBe("edge-abc123");
    // An id that could forge log lines is replaced, not echoed.
    const forged = await api.request("/api/health", {
      headers: { "x-request-id": 'a","level":"x' },
    });
    expect(forged.headers.get("x-request-id")).not.toContain('"');
  });
});
