import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { kill } from "./kill";
import {
  type DrillReport,
  killAll,
  mb,
  ms,
  type Postgres,
  root,
  serverLog,
  startPostgres,
} from "./lib";
import { load } from "./load";
import { postgresRestart } from "./postgres-restart";
import { sigterm } from "./sigterm";
import { twoOwners } from "./two-owners";

/**
 * `npm run drill [-- name ...]`: fault drills on the production bundle (built first) and a
 * throwaway Postgres started here (so it can be restarted) and stopped at the end, also on
 * failure. Prints what each drill did and what held; exits 1 if anything did not.
 * DRILL_SECONDS shortens the load drill (default 60).
 */

const seconds = Number(process.env.DRILL_SECONDS ?? 60);
if (!Number.isFinite(seconds) || seconds <= 0) {
  process.stderr.write(`DRILL_SECONDS: expected a positive number of seconds, got ${seconds}\n`);
  process.exit(2);
}

const drills: Record<string, (pg: Postgres) => Promise<DrillReport>> = {
  load: (pg) => load(pg, seconds),
  "postgres-restart": postgresRestart,
  kill,
  sigterm,
  "two-owners": () => twoOwners(),
};
const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(drills);
for (const name of chosen) {
  if (!(name in drills)) {
    process.stderr.write(`no drill "${name}"; have: ${Object.keys(drills).join(", ")}\n`);
    process.exit(2);
  }
}

const say = (text: string) => process.stdout.write(`${text}\n`);

say("building the production bundle (npm run build:server -w @slipway/core)");
const build = spawnSync("npm", ["run", "build:server", "-w", "@slipway/core"], {
  cwd: root,
  encoding: "utf8",
});
if (build.status !== 0) {
  process.stderr.write(`${build.stdout}${build.stderr}\nthe build failed\n`);
  process.exit(1);
}

say("starting a throwaway Postgres (scripts/throwaway-postgres.sh)");
const pg = await startPostgres();
let cleaned = false;
const cleanUp = async () => {
  if (cleaned) return;
  cleaned = true;
  killAll();
  await pg.remove();
};
process.on("SIGINT", () => void cleanUp().finally(() => process.exit(130)));
process.on("SIGTERM", () => void cleanUp().finally(() => process.exit(143)));

const reports: DrillReport[] = [];
try {
  for (const name of chosen) {
    say(`drill ${name}…`);
    const started = performance.now();
    const drill = drills[name] as (pg: Postgres) => Promise<DrillReport>;
    const report = await drill(pg).catch(
      (error: unknown): DrillReport => ({
        name,
        requests: 0,
        statuses: "",
        maxLatencyMs: undefined,
        maxRssMb: undefined,
        checks: [
          { what: "the drill ran to the end", held: false, detail: String(error).slice(0, 500) },
        ],
        logs: [],
      }),
    );
    reports.push(report);
    const held = report.checks.every((c) => c.held);
    say(`  ${held ? "held" : "FAILED"} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
} finally {
  await cleanUp();
}

const cell = (text: string) => text.replaceAll("|", "\\|");
say("");
say(
  `on ${availableParallelism()} cores, Node ${process.version}; (a) ran ${seconds} s; latencies are of answered requests`,
);
say("");
say("| drill | requests | statuses | max latency | max RSS | verdict |");
say("|---|---:|---|---:|---:|---|");
for (const report of reports) {
  const verdict = report.checks.every((c) => c.held) ? "held" : "FAILED";
  say(
    `| ${cell(report.name)} | ${report.requests} | ${cell(report.statuses)} | ${ms(report.maxLatencyMs)} | ${mb(report.maxRssMb)} | ${verdict} |`,
  );
}
say("");
for (const report of reports) {
  say(`${report.name}`);
  for (const c of report.checks) say(`  ${c.held ? "✓" : "✗"} ${c.what}: ${c.detail}`);
}
const failed = reports.filter((report) => !report.checks.every((c) => c.held));
for (const report of failed) {
  say(`\n--- ${report.name}: what the servers printed`);
  for (const log of report.logs) say(serverLog(log));
}
process.exit(failed.length > 0 ? 1 : 0);
