import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, waitUntilOk } from "../scripts/net";

/**
 * `npm run bench -- dev-boot`: time from `npm run dev` to the first 200 of /api/health/ready.
 * Three starts a round, each on its own data directory and free ports (a running dev server is
 * not disturbed):
 * - fresh: a new data directory (the first start after a clone), with this machine's PGlite
 *   template cache as it is (db/pglite-template.ts: made by any earlier start or test run);
 * - second: the same directory again;
 * - first ever: a new data directory and an empty template cache (XDG_CACHE_HOME pointed at an
 *   empty directory): the start that builds the template, as on a machine that never ran the app.
 * DEV_BOOT_AGAINST=<checkout> runs the same starts of another checkout of the app in the same
 * rounds, alternating (e.g. `git worktree add /tmp/before <commit>`, or `git archive <commit>`
 * unpacked with node_modules linked from this one): medians and ratios, this / that.
 * Median of RUNS (default 5). Writes bench/results/dev-boot-<timestamp>.json.
 */

const root = fileURLToPath(new URL("..", import.meta.url));
const runs = Number(process.env.RUNS ?? 5);
const against = process.env.DEV_BOOT_AGAINST
  ? path.resolve(process.env.DEV_BOOT_AGAINST)
  : undefined;
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");
const loadBefore = load();

async function boot(checkout: string, dataDir: string, env: Record<string, string> = {}) {
  const [port, webPort] = [await freePort(), await freePort()];
  const started = performance.now();
  const child = spawn("npm", ["run", "dev"], {
    cwd: checkout,
    detached: true, // its own process group, signalled like a terminal's Ctrl-C
    stdio: "ignore",
    env: {
      ...process.env,
      PORT: String(port),
      WEB_PORT: String(webPort),
      PGLITE_DIR: dataDir,
      STORAGE_DIR: path.join(path.dirname(dataDir), "storage"),
      ...env,
    },
  });
  // Fine-grained polling: the interval is the measurement's resolution.
  await waitUntilOk(`http://127.0.0.1:${port}/api/health/ready`, child, { intervalMs: 20 });
  const elapsed = performance.now() - started;
  process.kill(-(child.pid as number), "SIGINT");
  await once(child, "exit");
  return elapsed;
}

type Case = "fresh" | "second" | "firstEver";
const cases: Case[] = ["fresh", "second", "firstEver"];
const labels: Record<Case, string> = {
  fresh: "fresh data dir (first start)",
  second: "reused data dir (second start)",
  firstEver: "fresh data dir, empty template cache",
};
const checkouts = { this: root, ...(against ? { against } : {}) };
const times: Record<string, Record<Case, number[]>> = {};
for (const name of Object.keys(checkouts)) times[name] = { fresh: [], second: [], firstEver: [] };

/** One round of one checkout: fresh then second on one directory, then the first-ever start. */
async function round(name: string, checkout: string) {
  const scratch = mkdtempSync(path.join(tmpdir(), "slipway-bench-"));
  try {
    const dataDir = path.join(scratch, "pglite");
    times[name]?.fresh.push(await boot(checkout, dataDir));
    times[name]?.second.push(await boot(checkout, dataDir));
    const cache = path.join(scratch, "empty-cache");
    mkdirSync(cache);
    const other = path.join(scratch, "first-ever", "pglite");
    times[name]?.firstEver.push(await boot(checkout, other, { XDG_CACHE_HOME: cache }));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

// One start of each before timing: builds what a developer's earlier start would have built
// (the kept API bundle, the template), so "fresh" is measured as a second clone sees it.
for (const checkout of Object.values(checkouts)) {
  const scratch = mkdtempSync(path.join(tmpdir(), "slipway-bench-"));
  await boot(checkout, path.join(scratch, "pglite")).finally(() =>
    rmSync(scratch, { recursive: true, force: true }),
  );
}

for (let i = 0; i < runs; i++) {
  // Alternating, and which goes first alternates too: load that drifts hits both alike.
  const order = Object.entries(checkouts);
  if (i % 2 === 1) order.reverse();
  for (const [name, checkout] of order) await round(name, checkout);
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const ms = (n: number) => `${Math.round(n)} ms`.padStart(8);
const summary: Record<string, Record<Case, number>> = {};
for (const [name, byCase] of Object.entries(times)) {
  summary[name] = { fresh: 0, second: 0, firstEver: 0 };
  for (const c of cases) (summary[name] as Record<Case, number>)[c] = median(byCase[c]);
}

let report = `dev boot, npm run dev -> first 200 of /api/health/ready (median of ${runs}; load ${loadBefore} -> ${load()})\n`;
for (const c of cases) {
  const mine = summary.this?.[c] ?? Number.NaN;
  const all = (times.this?.[c] ?? []).map(Math.round).join(", ");
  report += `  ${labels[c].padEnd(38)} ${ms(mine)}   [${all}]`;
  if (against) {
    const theirs = summary.against?.[c] ?? Number.NaN;
    report += `   against ${ms(theirs)}   ratio ${(mine / theirs).toFixed(2)}x`;
  }
  report += "\n";
}
if (against) report += `  (against: ${against})\n`;
process.stdout.write(report);

const results = path.join(root, "bench/results");
mkdirSync(results, { recursive: true });
const file = path.join(results, `dev-boot-${new Date().toISOString().replaceAll(":", "-")}.json`);
writeFileSync(
  file,
  `${JSON.stringify({ runs, load: { before: loadBefore, after: load() }, against, times, medians: summary }, null, 2)}\n`,
);
process.stdout.write(`  written to ${path.relative(root, file)}\n`);
