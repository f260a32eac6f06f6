import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { fixtures } from "../../test/database";
import { repoRoot } from "../config";
import { acquireOwnership, DatabaseOwnedError, ownerFile, readOwner } from "./owner";

/**
 * One owner per embedded database directory, between real processes: a second is refused with
 * the owner's pid, port and command; a dead owner's record is taken over, by exactly one of
 * several successors; a stopping owner is waited for.
 */

function scratch() {
  const dir = mkdtempSync(path.join(tmpdir(), "slipway-owner-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  // A directory that does not exist yet, under one that does not either (a fresh clone's .data/).
  return path.join(dir, "data", "pglite");
}

/** Starts a process that takes ownership of `dataDir`; resolves with its first line of output. */
async function holder(dataDir: string, command: string) {
  // One process (node with tsx's loader), so its pid is the owner's.
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(fixtures, "hold-ownership.ts"), dataDir, command],
    { stdio: ["ignore", "pipe", "inherit"], cwd: repoRoot },
  );
  onTestFinished(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  const [line] = (await once(child.stdout, "data")) as [Buffer];
  return { child, line: line.toString().trim() };
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null ? Promise.resolve() : once(child, "exit").then(() => undefined);

describe("embedded database owner", () => {
  it("a second process is refused at once, with the owner's pid, port, command and how to reach it", async () => {
    const dataDir = scratch();
    const first = await holder(dataDir, "api on port 3000");
    expect(first.line).toBe("owned");

    const started = performance.now();
    const error = await acquireOwnership(dataDir, { command: "test", waitMs: 0 }).catch((e) => e);
    expect(performance.now() - started).toBeLessThan(500);
    expect(error).toBeInstanceOf(DatabaseOwnedError);
    expect(error.message).toContain(dataDir);
    expect(error.message).toContain(`process ${first.child.pid}`);
    expect(error.message).toContain("api on port 3000");
    expect(error.message).toContain("postgres://postgres@127.0.0.1:5999/postgres");
    expect(readOwner(dataDir)?.pid).toBe(first.child.pid);

    const second = await holder(dataDir, "another");
    expect(second.line).toMatch(/^refused: The embedded database .* is already open/);
  });

  it("a record left by a process that died (kill -9) is taken over", async () => {
    const dataDir = scratch();
    const first = await holder(dataDir, "crashed");
    first.child.kill("SIGKILL");
    await exited(first.child);
    expect(readOwner(dataDir)).toBeUndefined(); // the record is there, its process is not
    expect(readFileSync(ownerFile(dataDir), "utf8")).toContain(String(first.child.pid));

    const ownership = await acquireOwnership(dataDir, { command: "successor" });
    expect(readOwner(dataDir)?.pid).toBe(process.pid);
    ownership.release();
    expect(readOwner(dataDir)).toBeUndefined();
  });

  it("of several successors racing for a dead owner's directory, exactly one owns it", async () => {
    const dataDir = scratch();
    mkdirSync(path.dirname(ownerFile(dataDir)), { recursive: true });
    writeFileSync(
      ownerFile(dataDir),
      JSON.stringify({
        pid: 2 ** 22 + 1,
        port: 1,
        command: "dead",
        startedAt: "",
        state: "serving",
      }),
    );
    const racers = await Promise.all(
      Array.from({ length: 4 }, (_, i) => holder(dataDir, `racer ${i}`)),
    );
    const lines = racers.map((r) => r.line);
    expect(lines.filter((line) => line === "owned")).toHaveLength(1);
    expect(lines.filter((line) => line.startsWith("refused"))).toHaveLength(3);
    const winner = racers.find((r) => r.line === "owned");
    expect(readOwner(dataDir)?.pid).toBe(winner?.child.pid);
  });

  it("an owner that is stopping is waited for, so a reload can follow it", async () => {
    const dataDir = scratch();
    const first = await holder(dataDir, "reloading");
    const record = JSON.parse(readFileSync(ownerFile(dataDir), "utf8"));
    writeFileSync(ownerFile(dataDir), JSON.stringify({ ...record, state: "stopping" }));
    const next = acquireOwnership(dataDir, { command: "next", waitMs: 10_000 });
    setTimeout(() => first.child.kill("SIGTERM"), 300);
    const ownership = await next;
    expect(readOwner(dataDir)?.command).toBe("next");
    ownership.release();
  });
});
