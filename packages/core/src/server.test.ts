import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { freePort, waitUntilOk } from "../../../scripts/net";
import { repoRoot } from "./config";

/** A response's status, `Allow`, request id and error envelope, as a client over HTTP sees them. */
async function answer(response: Response) {
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  return {
    status: response.status,
    allow: response.headers.get("allow"),
    requestId: response.headers.get("x-request-id"),
    error: type.startsWith("application/json")
      ? (JSON.parse(text) as { error?: { code: string; message: string; details?: unknown } }).error
      : `not JSON (${type}): ${text}`,
  };
}

const REQUEST_ID = /^[0-9a-f-]{36}$/;

describe("container entry", () => {
  // Builds the bundle and boots a process: more than the default 20 s on a loaded machine.
  it("the production bundle boots, migrates, serves ready, keeps the error contract over HTTP, and stops cleanly on SIGTERM", {
    timeout: 60_000,
  }, async () => {
    // The exact build the Dockerfile runs.
    const build = spawnSync("npm", ["run", "build:server", "-w", "@slipway/core"], {
      cwd: repoRoot,
      encoding: "utf8",
    });
    expect(build.status, build.stderr).toBe(0);

    const port = await freePort();
    const child = spawn(process.execPath, [path.join(repoRoot, "packages/core/dist/server.mjs")], {
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: process.env.TEST_DATABASE_URL ?? "",
        PGLITE_DIR: "memory://",
        MIGRATE_ON_BOOT: "true",
        LOG_LEVEL: "info",
        // Small limits, so the 413s below take small bodies.
        BODY_LIMIT_BYTES: "1024",
        ATTACHMENT_MAX_BYTES: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    onTestFinished(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    let output = "";
    child.stdout?.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr?.on("data", (chunk) => {
      output += chunk;
    });

    await waitUntilOk(`http://127.0.0.1:${port}/api/health/ready`, child);
    const health = await fetch(`http://127.0.0.1:${port}/api/health`);
    expect(await health.json()).toEqual({ status: "ok" });
    expect(health.headers.get("x-request-id")).toMatch(REQUEST_ID);

    // The error contract (README "The API contract") on what the process serves: the API, the
    // offline store beside it, and paths nothing serves. Every answer is the JSON envelope.
    const base = `http://127.0.0.1:${port}`;
    const origin = `http://localhost:${port}`;
    const json = { origin, "content-type": "application/json" };
    const cases: [string, RequestInit, Partial<Awaited<ReturnType<typeof answer>>>][] = [
      [
        "/api/no-such-thing",
        {},
        {
          status: 404,
          error: { code: "not_found", message: "No route for GET /api/no-such-thing" },
        },
      ],
      [
        "/nope",
        {},
        { status: 404, error: { code: "not_found", message: "No route for GET /nope" } },
      ],
      [
        "/storage",
        {},
        { status: 404, error: { code: "not_found", message: "No route for GET /storage" } },
      ],
      [
        "/api/health",
        { method: "DELETE", headers: { origin } },
        {
          status: 405,
          allow: "GET, HEAD",
          error: {
            code: "method_not_allowed",
            message: "DELETE is not allowed on /api/health",
            details: { allowed: ["GET", "HEAD"] },
          },
        },
      ],
      [
        "/storage/uploads",
        { method: "DELETE", headers: { origin } },
        {
          status: 405,
          allow: "POST, GET, HEAD",
          error: {
            code: "method_not_allowed",
            message: "DELETE is not allowed on /storage/uploads",
            details: { allowed: ["POST", "GET", "HEAD"] },
          },
        },
      ],
      [
        "/api/auth/login",
        { method: "POST", headers: { ...json, "content-type": "text/plain" }, body: "hello" },
        {
          status: 415,
          error: {
            code: "unsupported_media_type",
            message: "Request bodies must be application/json, not text/plain",
          },
        },
      ],
      [
        "/storage/uploads",
        { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" },
        {
          status: 415,
          error: {
            code: "unsupported_media_type",
            message: "Uploads are multipart/form-data forms",
          },
        },
      ],
      [
        "/api/auth/login",
        { method: "POST", headers: json, body: JSON.stringify({ pad: "x".repeat(1024) }) },
        {
          status: 413,
          error: {
            code: "payload_too_large",
            message: "Request bodies are limited to 1024 bytes",
            details: { limitBytes: 1024 },
          },
        },
      ],
      [
        "/api/auth/login",
        { method: "POST", headers: json, body: '{"email":' },
        {
          status: 400,
          error: { code: "malformed_json", message: "The request body is not valid JSON" },
        },
      ],
    ];
    const ids: string[] = [health.headers.get("x-request-id") ?? ""];
    for (const [target, init, expected] of cases) {
      const got = await answer(await fetch(`${base}${target}`, init));
      expect(got, `${init.method ?? "GET"} ${target}`).toMatchObject({
        ...expected,
        requestId: expect.stringMatching(REQUEST_ID),
      });
      ids.push(got.requestId ?? "");
    }
    const invalid = await answer(
      await fetch(`${base}/api/auth/login`, { method: "POST", headers: json, body: "{}" }),
    );
    expect(invalid).toMatchObject({
      status: 400,
      requestId: expect.stringMatching(REQUEST_ID),
      error: { code: "validation_failed" },
    });
    ids.push(invalid.requestId ?? "");
    const traced = await fetch(`${base}/nope`, { headers: { "x-request-id": "edge-abc123" } });
    expect(traced.headers.get("x-request-id")).toBe("edge-abc123");

    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
    const lines = output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { message: string; path?: string; requestId?: string });
    const messages = lines.map((line) => line.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        "migrations up to date",
        "api listening",
        "api stopping",
        "api stopped",
      ]),
    );
    // One log line per request, under the id its response carried (ready polls aside).
    const logged = lines
      .filter((line) => line.message === "request" && line.path !== "/api/health/ready")
      .map((line) => line.requestId);
    expect(logged).toEqual([...ids, "edge-abc123"]);
  });
});
