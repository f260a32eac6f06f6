import { appendFileSync, readFileSync } from "node:fs";
import { afterAll, expect } from "vitest";

// vitest setup file, added to every project when TEST_CPU_REPORT names a file
// (vitest.config.ts): appends one JSON line per test file with the CPU its worker process spent
// (user + system, and that of its children that ended: the server bundles, the evaluation
// workers) since the file started, so files can be compared on a machine whose wall times are
// noise. Registered first, so its afterAll runs after every other file's hooks.

const TICK = 100; // USER_HZ: /proc's clock ticks per second on Linux.

function cpu() {
  // Fields after the command name (which may hold spaces, in parentheses).
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime, stime, cutime, cstime are fields 14-17 (1-based), so 11-14 here.
  return {
    self: (Number(f[11]) + Number(f[12])) / TICK,
    children: (Number(f[13]) + Number(f[14])) / TICK,
  };
}

const start = cpu();
const wallStart = performance.now();
const uptimeAtStart = process.uptime();

afterAll(() => {
  const end = cpu();
  const file = process.env.TEST_CPU_REPORT;
  if (!file) return;
  appendFileSync(
    file,
    `${JSON.stringify({
      file: expect.getState().testPath,
      pid: process.pid,
      // A worker that runs one file spent its start-up on it too.
      processUptimeAtStart: uptimeAtStart,
      selfAtStart: start.self,
      self: end.self - start.self,
      children: end.children - start.children,
      wall: (performance.now() - wallStart) / 1000,
      // When it ended (ms since the epoch): with the wall times, how busy the workers were.
      endedAt: Date.now(),
    })}\n`,
  );
});
