import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { networkInterfaces, tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { freePort, waitUntilOk } from "../../../scripts/net";
import { emfProblems } from "../test/emf";
import { serverBuild } from "../test/server-build";
import { repoRoot } from "./config";

/** A response's status, `Allow`, request id and error envelope, as a client over HTTP sees them. */
async function answer(response: Response) {
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  return {
    status: response.status,
    allow: response.headers.get("allow"),
    requestId: response.headers.get("x-request-id"),
    cacheControl: response.headers.get("cache-control"),
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
    // The exact build the Dockerfile runs (built once for the run: test/server-build.ts).
    const { entry } = await serverBuild();

    const port = await freePort();
    const child = spawn(process.execPath, [entry], {
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
        // No cache may keep an answer: CloudFront's policy applies to /api too.
        cacheControl: "no-store",
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
    // Metrics are written once a minute and at shutdown: these lines are the shutdown's flush,
    // valid EMF, one per route group that saw requests (ADR 030).
    const metrics = lines.filter((line) => "_aws" in line) as Record<string, unknown>[];
    for (const document of metrics) expect(emfProblems(document)).toEqual([]);
    expect(metrics.map((d) => d.RouteGroup)).toEqual(expect.arrayContaining(["auth", "unmatched"]));
    expect(messages.lastIndexOf("metrics")).toBeGreaterThan(messages.indexOf("api stopping"));
  });
});

describe("container entry behind CloudFront (ORIGIN_SECRET)", () => {
  // Fails if the liveness check needs the secret (ECS would replace every task) or if the
  // bundle answers without it (direct calls to execute-api would be served).
  it("the container's own health check passes; anything else without the secret is 403", {
    timeout: 60_000,
  }, async () => {
    const bundle = (await serverBuild()).entry;
    const port = await freePort();
    const secret = "a-per-stage-secret-of-32-characters!";
    const container = spawnGroup([bundle], {
      PORT: String(port),
      // Loopback here: the default behind the secret is every interface, which a test must not open.
      HOST: "127.0.0.1",
      ORIGIN_SECRET: secret,
      DATABASE_URL: process.env.TEST_DATABASE_URL ?? "",
      PGLITE_DIR: "memory://",
      MIGRATE_ON_BOOT: "true",
      LOG_LEVEL: "info",
    });
    await waitForOutput(container.child, container.output, '"api listening"');
    // The Dockerfile's HEALTHCHECK command, as ECS runs it inside the container.
    const check = spawnSync(
      process.execPath,
      [
        "-e",
        "fetch('http://127.0.0.1:'+process.env.PORT+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))",
      ],
      { env: { ...process.env, PORT: String(port) }, encoding: "utf8" },
    );
    expect(check.status).toBe(0);
    const base = `http://127.0.0.1:${port}`;
    const refused = await fetch(`${base}/api/health/ready`);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: "forbidden" } });
    const viaCloudFront = await fetch(`${base}/api/health/ready`, {
      headers: {
        "x-slipway-origin-secret": secret,
        "cloudfront-viewer-address": "198.51.100.10:46532",
      },
    });
    expect(viaCloudFront.status).toBe(200);
  });
});

/** This machine's addresses other than loopback (link-local IPv6 left out: it needs a zone). */
function otherAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((nic) => nic && !nic.internal && !nic.address.startsWith("fe80:"))
    .map((nic) => (nic?.family === "IPv6" ? `[${nic?.address}]` : (nic?.address ?? "")));
}

/** Whether `host:port` answers HTTP before `ms` pass (polled: a server still starting). */
async function answersWithin(host: string, port: number, ms: number) {
  const deadline = performance.now() + ms;
  for (;;) {
    if (await answers(host, port)) return true;
    if (performance.now() > deadline) return false;
    await new Promise((wake) => setTimeout(wake, 100));
  }
}

/** Whether anything answers HTTP at `host:port` (a refused connection: no). */
const answers = (host: string, port: number) =>
  fetch(`http://${host}:${port}/api/health`, { signal: AbortSignal.timeout(5_000) }).then(
    () => true,
    () => false,
  );

/** Spawns node `args` in its own process group (the dev launcher and Vite have children), killed at the end. */
function spawnGroup(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  onTestFinished(async () => {
    if (child.exitCode !== null) return;
    const exited = once(child, "exit");
    process.kill(-(child.pid as number), "SIGTERM");
    const timer = setTimeout(() => process.kill(-(child.pid as number), "SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  });
  return { child, output: () => output };
}

async function scratchDir() {
  const dir = await mkdtemp(path.join(tmpdir(), "slipway-bind-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Resolves once `text` appears in the child's output; fails if it exits first. */
function waitForOutput(child: ChildProcess, output: () => string, text: string) {
  return new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!output().includes(text)) return;
      child.stdout?.off("data", check);
      resolve();
    };
    child.stdout?.on("data", check);
    child.once("exit", (code) => reject(new Error(`exited (${code}):\n${output()}`)));
    check();
  });
}

describe("offline stays on this machine", () => {
  // Fails without the fix: the API listened on every interface (Node's default) and Vite's
  // answer depended on how `localhost` resolved.
  it("npm run dev listens on loopback only by default: the API and Vite answer on 127.0.0.1, not on this machine's other addresses", {
    timeout: 90_000,
  }, async () => {
    const dir = await scratchDir();
    const [api, web] = [await freePort(), await freePort()];
    // What `npm run dev` runs (package.json): the launcher, by plain node.
    const dev = spawnGroup(["scripts/dev.mjs"], {
      PORT: String(api),
      WEB_PORT: String(web),
      PGLITE_DIR: path.join(dir, "pglite"),
      STORAGE_DIR: path.join(dir, "storage"),
      HOST: "",
      LOG_LEVEL: "info",
      // As in a developer's shell (the test setup turns it off for in-process tests).
      MIGRATE_ON_BOOT: "",
    });
    await waitForOutput(dev.child, dev.output, "Slipway is up");
    expect(await answers("127.0.0.1", api)).toBe(true);
    // "Slipway is up" says the API is ready; Vite, started beside it, may still be starting.
    expect(await answersWithin("127.0.0.1", web, 30_000)).toBe(true);
    const others = otherAddresses();
    for (const address of others) {
      expect(await answers(address, api), `API on ${address}`).toBe(false);
      expect(await answers(address, web), `Vite on ${address}`).toBe(false);
    }
    if (others.length === 0) {
      // No other interface to try: the addresses the servers report they bound.
      expect(dev.output()).toMatch(/"message":"api listening".*"address":"127\.0\.0\.1"/);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: Vite's colours
      expect(dev.output().replace(/\x1b\[[0-9;]*m/g, "")).toContain(`http://127.0.0.1:${web}/`);
    }
  });

  // The control for the test above: a server that does listen there is seen there.
  it("HOST=0.0.0.0 makes the API reachable on the other addresses (so the test above can tell)", {
    timeout: 60_000,
  }, async () => {
    const others = otherAddresses();
    if (others.length === 0) return;
    const dir = await scratchDir();
    const port = await freePort();
    const api = spawnGroup(
      [path.join(repoRoot, "node_modules/tsx/dist/cli.mjs"), "packages/core/src/server.ts"],
      {
        PORT: String(port),
        HOST: "0.0.0.0",
        PGLITE_DIR: path.join(dir, "pglite"),
        LOG_LEVEL: "info",
      },
    );
    await waitForOutput(api.child, api.output, '"api listening"');
    const ipv4 = others.find((address) => !address.startsWith("["));
    if (ipv4) expect(await answers(ipv4, port)).toBe(true);
  });
});
