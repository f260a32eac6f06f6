import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { freePort, waitUntilOk } from "../../../../scripts/net";
import { repoRoot } from "../config";

/**
 * The drill a new user runs by accident: two dev servers on one data directory. The second is
 * refused at once, naming the first; the first keeps every write it acknowledged, through a
 * kill -9 and a restart that takes over the dead owner's record.
 */

function startServer(dataDir: string, port: number) {
  const child = spawn(process.execPath, ["--import", "tsx", "packages/core/src/server.ts"], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: "",
      PGLITE_DIR: path.join(dataDir, "pglite"),
      STORAGE_DIR: path.join(dataDir, "storage"),
      MIGRATE_ON_BOOT: "true",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  return { child, port, output: () => output };
}

const exit = async (child: ChildProcess) =>
  child.exitCode ?? ((await once(child, "exit")) as [number | null])[0];

describe("two dev servers on one .data/", () => {
  it("the second is refused naming the first; nothing acknowledged is lost, through kill -9 and a restart", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "slipway-owner-drill-"));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));

    const first = startServer(dataDir, await freePort());
    const base = `http://127.0.0.1:${first.port}`;
    await waitUntilOk(`${base}/api/health/ready`, first.child);
    const origin = { origin: `http://localhost:${first.port}`, "content-type": "application/json" };
    const signup = await fetch(`${base}/api/auth/signup`, {
      method: "POST",
      headers: origin,
      body: JSON.stringify({
        email: "drill@example.com",
        password: "a strong password",
        name: "D",
      }),
    });
    expect(signup.status).toBe(201);
    const cookie = (signup.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const write = (i: number) =>
      fetch(`${base}/api/notes`, {
        method: "POST",
        headers: { ...origin, cookie },
        body: JSON.stringify({ title: `note ${i}` }),
      }).then((response) => response.status);

    const second = startServer(dataDir, await freePort());
    // Writes go on while the second one tries to start.
    const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => write(i)));
    expect(await exit(second.child)).toBe(1);
    expect(second.output()).toContain(`is already open in process ${first.child.pid}`);
    expect(second.output()).toContain(`api on port ${first.port}`);
    const acknowledged = statuses.filter((status) => status === 201).length;
    expect(acknowledged).toBe(20);

    first.child.kill("SIGKILL");
    await exit(first.child);
    const third = startServer(dataDir, await freePort());
    const after = `http://127.0.0.1:${third.port}`;
    await waitUntilOk(`${after}/api/health/ready`, third.child);
    const login = await fetch(`${after}/api/auth/login`, {
      method: "POST",
      headers: { ...origin, origin: `http://localhost:${third.port}` },
      body: JSON.stringify({ email: "drill@example.com", password: "a strong password" }),
    });
    expect(login.status).toBe(200);
    const session = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const list = await fetch(`${after}/api/notes?limit=100`, { headers: { cookie: session } });
    const body = (await list.json()) as { notes: { title: string }[] };
    expect(body.notes.map((note) => note.title).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `note ${i}`).sort(),
    );
    third.child.kill("SIGTERM");
    expect(await exit(third.child)).toBe(0);
  }, 120_000);
});
