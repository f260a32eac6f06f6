import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, waitUntilOk } from "../scripts/net";

/**
 * `npm run bench -- dev-boot`: time from `npm run dev` to the first 200 of /api/health/ready,
 * on a fresh data directory (first start after clone: PGlite runs initdb) and on a second start
 * that reuses it. Median of RUNS (default 5) each; the warm start is reported as a ratio of the
 * fresh one. Uses its own data dir and free ports, so a running dev server is not disturbed.
 */

const root = fileURLToPath(new URL("..", import.meta.url));
const runs = Number(process.env.RUNS ?? 5);

async function boot(dataDir: string): Promise<number> {
  const [port, webPort] = [await freePort(), await freePort()];
  const started = performance.now();
  const child = spawn("npm", ["run", "dev"], {
    cwd: root,
    detached: true, // its own process group, signalled like a terminal's Ctrl-C
    stdio: "ignore",
    env: { ...process.env, PORT: String(port), WEB_PORT: String(webPort), PGLITE_DIR: dataDir },
  });
  // Fine-grained polling: the interval is the measurement's resolution.
  await waitUntilOk(`http://127.0.0.1:${port}/api/health/ready`, child, { intervalMs: 20 });
  const elapsed = performance.now() - started;
  process.kill(-(child.pid as number), "SIGINT");
  await once(child, "exit");
  return elapsed;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

const fresh: number[] = [];
const warm: number[] = [];
for (let i = 0; i < runs; i++) {
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), "slipway-bench-")), "pglite");
  fresh.push(await boot(dataDir));
  warm.push(await boot(dataDir));
  rmSync(path.dirname(dataDir), { recursive: true, force: true });
}

const f = median(fresh);
const w = median(warm);
process.stdout.write(
  `dev boot, command -> first 200 of /api/health/ready (median of ${runs})\n` +
    `  fresh data dir (first start)   ${Math.round(f)} ms   [${fresh.map(Math.round).join(", ")}]\n` +
    `  reused data dir (second start) ${Math.round(w)} ms   [${warm.map(Math.round).join(", ")}]\n` +
    `  second start / first start     ${(w / f).toFixed(2)}x\n`,
);
