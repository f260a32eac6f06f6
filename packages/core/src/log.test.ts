import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { captureLogs } from "../test/logs";
import { repoRoot } from "./config";
import { createBufferedOutput, type LogTarget, log, withLogContext } from "./log";
import { errorFields } from "./observability/redact";

const fixture = path.join(repoRoot, "packages/core/test/fixtures/log-output.ts");

/** A target whose writes complete only when the test says so: a log reader that fell behind. */
function stalledTarget() {
  const chunks: string[] = [];
  const callbacks: (() => void)[] = [];
  const target: LogTarget = {
    write(chunk, done) {
      chunks.push(chunk);
      callbacks.push(() => done());
    },
  };
  return {
    target,
    chunks,
    /** Completes the writes made so far. */
    catchUp: () => {
      for (const done of callbacks.splice(0)) done();
    },
  };
}

const turn = () => new Promise((next) => setImmediate(next));

// Tests run at LOG_LEVEL=error (test/setup.ts): the lines below are errors to be written.
describe("log lines", () => {
  // The shape before ADR 020, byte for byte: `{level,time,message,...context,...fields}` through
  // one JSON.stringify with the error replacer. The fast path must write the same text (no key
  // twice when a field overrides the context or the line's own keys).
  it("keep their shape: level, time, message, then context, then fields, overrides and errors as before", () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    onTestFinished(() => spy.mockRestore());
    const failure = new Error("boom", { cause: new Error("deeper") });
    const cases: [Record<string, unknown>, Record<string, unknown> | undefined][] = [
      [{}, undefined],
      [{}, {}],
      [{ requestId: "r-1" }, { method: "GET", path: "/api/notes", status: 200, durationMs: 3 }],
      [{ requestId: "r-1" }, { requestId: "r-2", extra: undefined }],
      [{ requestId: "r-1" }, { message: "overrides the message", level: "sneaky" }],
      [{ taskId: "t-1", message: "context named message" }, { n: 1 }],
      [
        { requestId: "r-1" },
        { error: failure, nested: { list: [1, "two", null] }, at: new Date(0) },
      ],
      [{ requestId: 'quote " and \\ and \n' }, { text: "ünïcödé ✓", flag: true, none: null }],
    ];
    const replacer = (_key: string, value: unknown) =>
      value instanceof Error ? errorFields(value) : value;
    cases.forEach(([context, fields], i) => {
      withLogContext(context, () => log.error("hello", fields));
      const line = written[i] ?? "";
      const time = (JSON.parse(line) as { time: string }).time;
      expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const before = { level: "error", time, message: "hello", ...context, ...fields };
      expect(line).toBe(`${JSON.stringify(before, replacer)}\n`);
    });
  });

  it("nest their context: an inner withLogContext adds to the outer one", () => {
    const logs = captureLogs();
    withLogContext({ requestId: "outer" }, () =>
      withLogContext({ taskId: "inner" }, () => log.error("both")),
    );
    expect(logs[0]).toMatchObject({ message: "both", requestId: "outer", taskId: "inner" });
  });
});

describe("the buffered output (the API server's)", () => {
  // Fails with one write per line (the direct output): every line is its own write call.
  it("writes the lines of one event-loop turn in one write", async () => {
    const { target, chunks, catchUp } = stalledTarget();
    const output = createBufferedOutput(target);
    for (let i = 0; i < 100; i++) output.write(`line ${i}\n`);
    expect(chunks).toEqual([]);
    await turn();
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.split("\n")).toHaveLength(101);
    catchUp();
  });

  // Fails without the bound: a stalled reader made every line wait in memory.
  it("keeps at most maxBytes waiting: past that, lines are dropped, counted, and one warning says how many once the reader caught up", async () => {
    const { target, chunks, catchUp } = stalledTarget();
    const output = createBufferedOutput(target, { maxBytes: 1000 });
    const line = `${"x".repeat(99)}\n`; // 100 bytes
    for (let i = 0; i < 5; i++) output.write(line);
    await turn(); // 500 bytes in flight, the reader does not finish
    for (let i = 0; i < 20; i++) output.write(line); // room for 5 more
    expect(output.dropped).toBe(15);
    await turn();
    expect(chunks).toHaveLength(1); // one write in flight at a time
    catchUp();
    // The warning first, then what had waited.
    expect(chunks).toHaveLength(2);
    const [warning, ...kept] = (chunks[1] ?? "").trimEnd().split("\n");
    expect(JSON.parse(warning ?? "")).toMatchObject({
      level: "warn",
      message: "log lines dropped",
      dropped: 15,
      reason: "stdout did not keep up",
    });
    expect(kept).toHaveLength(5);
    expect(output.dropped).toBe(0);
    catchUp();
    await output.flush(100);
  });

  it("flush resolves once what was accepted has been written", async () => {
    const { target, chunks, catchUp } = stalledTarget();
    const output = createBufferedOutput(target);
    output.write("a\n");
    let flushed = false;
    const flushing = output.flush(10_000).then(() => {
      flushed = true;
    });
    await turn();
    expect(chunks).toEqual(["a\n"]);
    expect(flushed).toBe(false);
    catchUp();
    await flushing;
    expect(flushed).toBe(true);
  });
});

describe("the buffered output in a process", () => {
  const run = (args: string[]) => {
    const child = spawn(process.execPath, ["--import", "tsx", fixture, ...args], {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    onTestFinished(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    return { child, stderr: () => stderr };
  };
  const readAll = async (stream: NodeJS.ReadableStream) => {
    let text = "";
    stream.on("data", (chunk) => {
      text += chunk;
    });
    await once(stream, "end");
    return text;
  };

  // Fails with process.stdout.write per line: on a pipe nobody reads, Node queued all 60 MB.
  it("holds at most about a megabyte for a stdout nobody reads, without stalling the event loop, then says what it dropped", {
    timeout: 60_000,
  }, async () => {
    const { child, stderr } = run(["flood", "60000"]);
    child.stdout.pause();
    // The flood has ended when the fixture reports on stderr.
    while (!stderr().includes("\n")) await once(child.stderr, "data");
    const report = JSON.parse(stderr().split("\n")[0] ?? "") as {
      queuedMax: number;
      stallMaxMs: number;
    };
    expect(report.queuedMax).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024);
    // A blocked write would stall for as long as the reader waits (here: until the end).
    expect(report.stallMaxMs).toBeLessThan(1000);
    child.stdout.resume();
    const [text, [code]] = await Promise.all([readAll(child.stdout), once(child, "exit")]);
    expect(code).toBe(0);
    const lines = text
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as { message: string; dropped?: number });
    const warning = lines.find((line) => line.message === "log lines dropped");
    const kept = lines.filter((line) => line.message === "flood").length;
    expect(warning?.dropped).toBeGreaterThan(0);
    expect(kept + (warning?.dropped ?? 0)).toBe(60_000);
    expect(lines.at(-1)?.message).toBe("flood done");
  });

  // Fails without the flush at exit: the lines were still waiting for the next turn, which a
  // crash never reaches.
  it("writes every buffered line and the error when the process crashes", {
    timeout: 30_000,
  }, async () => {
    const { child, stderr } = run(["crash", "100"]);
    const [text, [code]] = await Promise.all([readAll(child.stdout), once(child, "exit")]);
    expect(code).toBe(1);
    expect(stderr()).toContain("planted crash");
    const lines = text
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as { message: string; error?: { message: string } });
    expect(lines.filter((line) => line.message === "line")).toHaveLength(100);
    expect(lines.at(-1)).toMatchObject({
      level: "error",
      message: "uncaught exception",
      origin: "uncaughtException",
      error: { message: "planted crash" },
    });
  });
});
