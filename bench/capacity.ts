import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { type Postgres, startPostgres } from "../scripts/drill/lib";
import { freePort } from "../scripts/net";
import { benchNode, containerRuntime } from "./lib/bench-node";

/**
 * `npm run bench -- capacity`: what one production API task can serve, measured. The production
 * bundle (as deployed: behind ORIGIN_SECRET, LOG_LEVEL=info, on production's Node) against a
 * throwaway Postgres, at the pool size production gives each task (infra/stage.ts
 * sizing.api.poolMax, its DATABASE_POOL_MAX), for a note read, the list and a create. For each it
 * reports requests/s of the one process and, the figure that survives a loaded machine, the CPU
 * the API process and the Postgres cluster spent per request (user + system, /proc): 1 s / µs
 * per request is the requests/s one vCPU holds, a quarter of it a 0.25 vCPU task's. The README's
 * capacity section is made of these numbers (ADR 032).
 *
 * Options: --duration S (8) --warmup S (2) --connections N (50).
 * Writes bench/results/capacity-<timestamp>.json.
 */

const root = fileURLToPath(new URL("..", import.meta.url));
const { values: options } = parseArgs({
  options: {
    duration: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string" },
  },
});
const number = (name: keyof typeof options, fallback: number) => {
  const value = Number(options[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`--${name}: expected a positive number`);
  return value;
};
const duration = number("duration", 8);
const warmup = number("warmup", 2);
const connections = number("connections", 50);

// infra/stage.ts reads the stage from SST's `$app`; production's sizing is what is measured.
(globalThis as { $app?: unknown }).$app = { name: "slipway", stage: "production" };
// A path tsc does not follow: infra/ type-checks against SST's globals in the root project.
const stageModule = "../infra/stage";
const { sizing } = (await import(stageModule)) as {
  sizing: {
    api: { cpu: string; poolMax: number; maxTasks: number; capTasks: number };
    gateway: { rateLimit: number; burstLimit: number };
  };
};
const poolMax = sizing.api.poolMax;
const taskVcpu = Number.parseFloat(sizing.api.cpu);

const SECRET = "capacity-origin-secret-of-at-least-32-characters";
const SITE = "https://capacity.slipway.test";
const viewer = {
  "x-slipway-origin-secret": SECRET,
  "cloudfront-viewer-address": `198.51.100.${1 + Math.floor(Math.random() * 254)}:40000`,
};

const ticks = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);
/** CPU seconds (user + system) of one process, from /proc/<pid>/stat. */
function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / ticks;
  } catch {
    return 0; // it exited (a backend closing)
  }
}
/**
 * CPU seconds of a Postgres cluster: its postmaster and every child (backends, writer, WAL),
 * with what exited children had spent (cutime/cstime of the postmaster).
 */
function clusterCpu(postmaster: number): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      if (Number(fields[1]) === postmaster) total += cpuOf(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  const own = readFileSync(`/proc/${postmaster}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return total + (Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])) / ticks;
}

let pg: Postgres | undefined;
let server: ChildProcess | undefined;
const storage = mkdtempSync(path.join(tmpdir(), "slipway-capacity-"));

async function main() {
  const node = benchNode("production", containerRuntime());
  const build = spawnSync("npm", ["run", "build:server", "-w", "@slipway/core"], {
    cwd: root,
    encoding: "utf8",
  });
  if (build.status !== 0) throw new Error(`build failed:\n${build.stderr}`);
  pg = await startPostgres();
  const postmaster = Number(
    readFileSync(path.join(pg.dir, "data", "postmaster.pid"), "utf8").split("\n")[0],
  );
  const port = await freePort();
  let output = "";
  server = spawn(node.path, [path.join(root, "packages/core/dist/server.mjs")], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: pg.url,
      DATABASE_POOL_MAX: String(poolMax),
      MIGRATE_ON_BOOT: "true",
      // As deployed without a read replica (config.ts DATABASE_READER).
      DATABASE_READER: "primary",
      LOG_LEVEL: "info",
      ORIGIN_SECRET: SECRET,
      ALLOWED_ORIGINS: SITE,
      COOKIE_SECURE: "true",
      STORAGE_DIR: storage,
      SENTRY_DSN: "",
      // One user at 50 connections: the quotas would measure themselves.
      QUOTA_WRITES_PER_MINUTE: "1000000",
      QUOTA_NOTES_PER_USER: "10000000",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Drained as ECS's log driver drains it; only the tail is kept for a failure's message.
  server.stdout?.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  server.stderr?.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`the bundle exited:\n${output}`);
    const status = await fetch(`${url}/api/health/ready`, { headers: viewer }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) throw new Error(`the bundle was not ready in 60 s:\n${output}`);
    await new Promise((wake) => setTimeout(wake, 100));
  }

  const signup = await fetch(`${url}/api/auth/signup`, {
    method: "POST",
    headers: { ...viewer, origin: SITE, "content-type": "application/json" },
    body: JSON.stringify({
      email: `capacity-${Date.now()}@example.com`,
      password: "a strong capacity password",
      name: "Capacity",
    }),
  });
  const cookie = signup.headers.getSetCookie()[0]?.split(";")[0];
  if (signup.status !== 201 || !cookie) throw new Error(`signup answered ${signup.status}`);
  const read = { ...viewer, cookie };
  const write = { ...read, origin: SITE, "content-type": "application/json" };
  const ids: string[] = [];
  for (let i = 0; i < 50; i++) {
    const created = await fetch(`${url}/api/notes`, {
      method: "POST",
      headers: write,
      body: JSON.stringify({ title: `seeded ${i}`, body: `body of seeded note ${i}` }),
    });
    const id = ((await created.json()) as { note?: { id?: string } }).note?.id;
    if (created.status !== 201 || !id) throw new Error(`seeding answered ${created.status}`);
    ids.push(id);
  }
  const routes = {
    read: { method: "GET" as const, path: `/api/notes/${ids[25]}`, headers: read },
    list: { method: "GET" as const, path: "/api/notes", headers: read },
    create: {
      method: "POST" as const,
      path: "/api/notes",
      headers: write,
      body: JSON.stringify({ title: "capacity note", body: "written by the capacity bench" }),
    },
  };

  const pid = server.pid as number;
  const results = [];
  for (const [name, route] of Object.entries(routes)) {
    await autocannon({ url: `${url}${route.path}`, ...route, connections, duration: warmup });
    const appBefore = cpuOf(pid);
    const dbBefore = clusterCpu(postmaster);
    const result = await autocannon({
      url: `${url}${route.path}`,
      ...route,
      connections,
      duration,
    });
    const appCpu = cpuOf(pid) - appBefore;
    const dbCpu = clusterCpu(postmaster) - dbBefore;
    const total = Math.max(1, result.requests.total);
    const appUs = (appCpu * 1e6) / total;
    const dbUs = (dbCpu * 1e6) / total;
    results.push({
      route: name,
      request: `${route.method} ${route.path.replace(/not_\w+/, ":id")}`,
      rps: Math.round(result.requests.average),
      p99: result.latency.p99,
      failed: result.non2xx + result.errors,
      appCpuUsPerRequest: Math.round(appUs),
      dbCpuUsPerRequest: Math.round(dbUs),
      rpsPerVcpu: Math.round(1e6 / appUs),
      rpsPerTask: Math.round((taskVcpu * 1e6) / appUs),
      rpsAtMaxTasks: Math.round((sizing.api.maxTasks * taskVcpu * 1e6) / appUs),
      rpsAtCap: Math.round((sizing.api.capTasks * taskVcpu * 1e6) / appUs),
      rpsPerDbVcpu: Math.round(1e6 / dbUs),
    });
  }

  const lines = [
    `capacity: the production bundle (LOG_LEVEL=info, behind ORIGIN_SECRET) on node v${node.version}, DATABASE_POOL_MAX=${poolMax} (sizing.api.poolMax), throwaway Postgres`,
    `${connections} connections, ${duration} s per route after ${warmup} s warm-up; machine: ${cpus().length} cores, load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(" ")}`,
    "",
    `| route | req/s (this process) | p99 ms | API CPU µs/req | Postgres CPU µs/req | req/s per vCPU | per ${taskVcpu} vCPU task | at max ${sizing.api.maxTasks} tasks | at cap ${sizing.api.capTasks} | per DB vCPU |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...results.map(
      (r) =>
        `| ${r.request} | ${r.rps} | ${r.p99} | ${r.appCpuUsPerRequest} | ${r.dbCpuUsPerRequest} | ${r.rpsPerVcpu} | ${r.rpsPerTask} | ${r.rpsAtMaxTasks} | ${r.rpsAtCap} | ${r.rpsPerDbVcpu} |`,
    ),
    "",
    `gateway stage throttle (sizing.gateway): rate ${sizing.gateway.rateLimit} req/s, burst ${sizing.gateway.burstLimit}`,
    ...results
      .filter((r) => r.failed > 0)
      .map((r) => `WARNING ${r.route}: ${r.failed} failed requests`),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  const dir = path.join(root, "bench/results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `capacity-${new Date().toISOString().replaceAll(":", "-")}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ bench: "capacity", at: new Date().toISOString(), node: node.version, poolMax, connections, duration, load: loadavg(), results }, null, 2)}\n`,
  );
  process.stdout.write(`written to ${path.relative(root, file)}\n`);
}

try {
  await main();
} finally {
  server?.kill("SIGKILL");
  await pg?.remove();
  if (existsSync(storage)) rmSync(storage, { recursive: true, force: true });
}
