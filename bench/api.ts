import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gunzipSync } from "node:zlib";
import autocannon from "autocannon";
import postgres from "postgres";
import { type Postgres, startPostgres } from "../scripts/drill/lib";
import { freePort } from "../scripts/net";
import { benchNode, containerNodeArgs, containerRuntime } from "./lib/bench-node";

/**
 * `npm run bench -- api`: the production bundle against a raw `node:http` + postgres.js baseline
 * (bench/baseline/api-baseline.ts) doing the same statements and answering the same JSON, on one
 * Postgres, side by side: for each round and route, autocannon runs against one then the other
 * (the order flips every round, so drift favours neither), and each route reports the median
 * requests/s and p50/p99 latency of its rounds and the ratio app / baseline.
 *
 * The bundle runs as deployed: behind ORIGIN_SECRET (every request carries the secret and
 * CloudFront-Viewer-Address), Secure cookies, LOG_LEVEL=info with its stdout a pipe this process
 * drains (on ECS stdout is a pipe to the log driver). The per-user quotas are lifted as in the
 * drills: one user writes at 50 connections. Before measuring, both servers must give the same
 * body for the same request: a baseline that does less is not a baseline.
 *
 * Database: DATABASE_URL if set (the bench's user is deleted at the end), else a throwaway
 * Postgres (scripts/throwaway-postgres.sh). Options (`npm run bench -- api --rounds 3`, or
 * BENCH_<NAME> variables):
 *   --rounds N        rounds per route and target (5)
 *   --duration S      seconds per run (5)
 *   --warmup S        seconds of warm-up per route and target (1)
 *   --connections N   concurrent connections (50)
 *   --route a,b       some of read, list, create, me (all)
 *   --log-level L     the bundle's LOG_LEVEL (info); `silent` measures what the log costs
 *   --bundle FILE     a server.mjs built elsewhere (e.g. of an older commit); no build then
 *   --app-log FILE    also copy the bundle's stdout to FILE (to read what it logged)
 *   --against FILE    a second bundle measured in the same rounds (before/after in one run: the
 *                     ratio app/against); its LOG_LEVEL is --against-log-level (--log-level's),
 *                     so `--bundle X --against X --against-log-level silent` prices the log
 *   --tracing R       the bundle with a Sentry DSN (a loopback fake ingest this process runs,
 *                     counting what arrives) and TRACES_SAMPLE_RATE=R (0 to 1); `off` (the
 *                     default): no DSN, as tracing costs nothing then. `--against X` with
 *                     `--against-tracing off|R` prices it in the same rounds (ADR 029)
 *   --node-args="A B" the options node runs the bundle with (packages/core/Dockerfile's CMD's, as
 *                     deployed); `--against-node-args` the other bundle's (--node-args'), so
 *                     `--bundle X --against X --against-node-args="…"` prices a runtime option
 *   --hono            also the framework's floor, measured in the same rounds: the baseline's work
 *                     served by Hono on @hono/node-server with none of the app's middleware
 *                     (bench/baseline/api-hono.ts): hono/baseline is what the framework costs,
 *                     app/hono what the app's own middleware costs
 *   --node N          the Node the servers run on: `production` (packages/core/Dockerfile's major,
 *                     fetched from the npm registry once if this machine has another; the default,
 *                     as only those numbers are production's), `current`, or a path
 * Writes bench/results/api-<timestamp>.json.
 */

const root = fileURLToPath(new URL("..", import.meta.url));
const { values: options } = parseArgs({
  options: {
    rounds: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string" },
    route: { type: "string" },
    "log-level": { type: "string" },
    bundle: { type: "string" },
    "app-log": { type: "string" },
    against: { type: "string" },
    "against-log-level": { type: "string" },
    tracing: { type: "string" },
    "against-tracing": { type: "string" },
    hono: { type: "boolean" },
    node: { type: "string" },
    "node-args": { type: "string" },
    "against-node-args": { type: "string" },
  },
});
const option = (name: keyof typeof options, fallback: string): string =>
  (options[name] as string | undefined) ??
  process.env[`BENCH_${name.toUpperCase().replaceAll("-", "_")}`] ??
  fallback;
const positive = (name: keyof typeof options, fallback: number) => {
  const value = Number(option(name, String(fallback)));
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name}: expected a number`);
  return value;
};
const rounds = positive("rounds", 5);
const duration = positive("duration", 5);
const warmup = positive("warmup", 1);
const connections = positive("connections", 50);
const logLevel = option("log-level", "info");
const bundleOption = options.bundle ?? process.env.BENCH_BUNDLE;
const againstOption = options.against ?? process.env.BENCH_AGAINST;
const against = againstOption ? path.resolve(againstOption) : undefined;
const againstLogLevel = option("against-log-level", logLevel);
const withHono = options.hono === true || process.env.BENCH_HONO === "1";
/** A sample rate (0 to 1) or `off`: no DSN at all. */
const tracingOption = (name: "tracing" | "against-tracing", fallback: string): string => {
  const value = option(name, fallback);
  const rate = Number(value);
  if (value !== "off" && !(value.trim() !== "" && rate >= 0 && rate <= 1)) {
    throw new Error(`--${name}: expected off or a sample rate from 0 to 1, got ${value}`);
  }
  return value;
};
const tracing = tracingOption("tracing", "off");
const againstTracing = tracingOption("against-tracing", "off");
const bundle = bundleOption
  ? path.resolve(bundleOption)
  : path.join(root, "packages/core/dist/server.mjs");

const node = benchNode(option("node", "production"), containerRuntime());
const words = (text: string) => text.split(/\s+/).filter(Boolean);
const nodeArgs = words(option("node-args", containerNodeArgs().join(" ")));
const againstNodeArgs = words(option("against-node-args", nodeArgs.join(" ")));

const ROUTES = ["read", "list", "create", "me"] as const;
type RouteName = (typeof ROUTES)[number];
const chosen = option("route", ROUTES.join(","))
  .split(",")
  .map((name) => name.trim())
  .filter(Boolean);
for (const name of chosen) {
  if (!ROUTES.includes(name as RouteName)) {
    throw new Error(`--route: no route "${name}"; have ${ROUTES.join(", ")}`);
  }
}
const routes = ROUTES.filter((name) => chosen.includes(name));

const SECRET = "bench-origin-secret-of-at-least-32-characters";
const SITE = "https://bench.slipway.test";
/** A documentation address (RFC 5737) per run: the per-address signup cap stays clear. */
const VIEWER = `198.51.100.${1 + Math.floor(Math.random() * 254)}`;
const viewerHeaders = {
  "x-slipway-origin-secret": SECRET,
  "cloudfront-viewer-address": `${VIEWER}:40000`,
};
const SEED_NOTES = 50;

// ---------------------------------------------------------------- processes

interface Child {
  label: string;
  child: ChildProcess;
  /** Bytes and lines written to stdout (drained as they come, never kept whole). */
  stdout: { bytes: number; lines: number };
  /** The last few kB of stdout and stderr, for a failure's message. */
  tail(): string;
}

const children = new Set<ChildProcess>();
let pg: Postgres | undefined;
const temporary: string[] = [];

function start(label: string, args: string[], env: Record<string, string>, copyTo?: string): Child {
  const child = spawn(node.path, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.on("exit", () => children.delete(child));
  const stdout = { bytes: 0, lines: 0 };
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-8192);
  };
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout.bytes += chunk.length;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) stdout.lines++;
    keep(chunk);
  });
  child.stderr?.on("data", keep);
  if (copyTo) child.stdout?.pipe(createWriteStream(copyTo));
  return { label, child, stdout, tail: () => tail };
}

async function stop(server: Child) {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = once(server.child, "exit");
  server.child.kill("SIGTERM");
  const timer = setTimeout(() => server.child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

async function cleanup() {
  for (const child of children) child.kill("SIGKILL");
  await pg?.remove();
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
}
process.on("SIGINT", () => void cleanup().finally(() => process.exit(130)));

/** Polls `url` with `headers` until it answers `status`; fails if `server` exits first. */
async function until(server: Child, url: string, headers: Record<string, string>, status = 200) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.child.exitCode !== null) {
      throw new Error(`${server.label} exited (${server.child.exitCode}):\n${server.tail()}`);
    }
    const got = await fetch(url, { headers }).then(
      (response) => response.status,
      () => 0,
    );
    if (got === status) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer ${status} within 60 s`);
    await new Promise((wake) => setTimeout(wake, 50));
  }
}

/**
 * CPU seconds (user + system) `pid` has used, from /proc (Linux); undefined elsewhere. Beside
 * requests/s, a server's CPU per request: on a machine others load too, it moves less than
 * throughput does, since a busy neighbour takes time from both servers but not work.
 */
const ticksPerSecond = Number(
  spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim() || 100,
);
function cpuSeconds(pid: number | undefined): number | undefined {
  const file = `/proc/${pid}/stat`;
  if (pid === undefined || !existsSync(file)) return undefined;
  // The fields after the command's closing parenthesis start at field 3; utime and stime are 14, 15.
  const fields = readFileSync(file, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

// ---------------------------------------------------------------- the run

const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");

async function main() {
  const loadBefore = load();
  let databaseURL = process.env.DATABASE_URL;
  if (!databaseURL) {
    pg = await startPostgres();
    databaseURL = pg.url;
  }

  if (!bundleOption) {
    const build = spawnSync("npm", ["run", "build:server", "-w", "@slipway/core"], {
      cwd: root,
      encoding: "utf8",
    });
    if (build.status !== 0) throw new Error(`build failed:\n${build.stderr}`);
  }

  const shared = {
    DATABASE_URL: databaseURL,
    DATABASE_POOL_MAX: process.env.DATABASE_POOL_MAX ?? "5",
    COOKIE_SECURE: "true",
    // As deployed without a read replica: the read sites on the primary itself (offline's
    // default is a read-only mirror pool, config.ts DATABASE_READER).
    DATABASE_READER: "primary",
    // As the drills: one user at 50 connections, measuring speed rather than the quotas.
    QUOTA_WRITES_PER_MINUTE: "1000000",
    QUOTA_NOTES_PER_USER: "10000000",
  };
  const storage = mkdtempSync(path.join(tmpdir(), "slipway-bench-storage-"));
  temporary.push(storage);
  const ingest =
    tracing !== "off" || (against && againstTracing !== "off") ? await fakeIngest() : undefined;
  const tracingEnv = (rate: string): Record<string, string> =>
    rate === "off" || !ingest
      ? { SENTRY_DSN: "" }
      : { SENTRY_DSN: ingest.dsn, TRACES_SAMPLE_RATE: rate };
  /** A bundle as deployed, listening on a free port once it has migrated. */
  const startBundle = async (
    label: string,
    file: string,
    level: string,
    rate: string,
    args: string[],
    copyTo?: string,
  ) => {
    const port = await freePort();
    const server = start(
      label,
      [...args, file],
      {
        ...shared,
        PORT: String(port),
        HOST: "127.0.0.1",
        MIGRATE_ON_BOOT: "true",
        LOG_LEVEL: level,
        ORIGIN_SECRET: SECRET,
        ALLOWED_ORIGINS: SITE,
        STORAGE_DIR: storage,
        ...tracingEnv(rate),
      },
      copyTo,
    );
    const url = `http://127.0.0.1:${port}`;
    await until(server, `${url}/api/health/ready`, viewerHeaders);
    return { server, url };
  };
  const { server: app, url: appURL } = await startBundle(
    "the bundle",
    bundle,
    logLevel,
    tracing,
    nodeArgs,
    options["app-log"],
  );
  const other = against
    ? await startBundle(
        "the other bundle",
        against,
        againstLogLevel,
        againstTracing,
        againstNodeArgs,
      )
    : undefined;
  // Started once the bundle has migrated: the tables exist.
  const basePort = await freePort();
  const baseline = start(
    "the baseline",
    ["--import", "tsx", path.join(root, "bench/baseline/api-baseline.ts")],
    { ...shared, PORT: String(basePort) },
  );
  const baseURL = `http://127.0.0.1:${basePort}`;
  await until(baseline, `${baseURL}/api/auth/me`, {}, 401);
  const honoPort = withHono ? await freePort() : undefined;
  const hono = honoPort
    ? start(
        "the framework's floor",
        ["--import", "tsx", path.join(root, "bench/baseline/api-hono.ts")],
        {
          ...shared,
          PORT: String(honoPort),
        },
      )
    : undefined;
  const honoURL = `http://127.0.0.1:${honoPort}`;
  if (hono) await until(hono, `${honoURL}/api/auth/me`, {}, 401);

  type Key = "app" | "against" | "hono" | "baseline";
  const targets: { key: Key; label: string; url: string; pid: number | undefined }[] = [
    { key: "app", label: "the bundle", url: appURL, pid: app.child.pid },
    ...(other
      ? [
          {
            key: "against" as const,
            label: "the other bundle",
            url: other.url,
            pid: other.server.child.pid,
          },
        ]
      : []),
    ...(hono
      ? [
          {
            key: "hono" as const,
            label: "the framework's floor",
            url: honoURL,
            pid: hono.child.pid,
          },
        ]
      : []),
    { key: "baseline", label: "the baseline", url: baseURL, pid: baseline.child.pid },
  ];

  // Seed through the bundle: a user (its session cookie) and notes.
  const email = `bench-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const signup = await fetch(`${appURL}/api/auth/signup`, {
    method: "POST",
    headers: { ...viewerHeaders, origin: SITE, "content-type": "application/json" },
    body: JSON.stringify({ email, password: "a strong bench password", name: "Bench" }),
  });
  const cookie = signup.headers.getSetCookie()[0]?.split(";")[0];
  const userID = ((await signup.json()) as { user?: { id?: string } }).user?.id;
  if (signup.status !== 201 || !cookie || !userID) {
    throw new Error(`signup answered ${signup.status}:\n${app.tail()}`);
  }
  const readHeaders = { ...viewerHeaders, cookie };
  const writeHeaders = { ...readHeaders, origin: SITE, "content-type": "application/json" };
  const noteBody = JSON.stringify({ title: "bench note", body: "written by the API bench" });
  const seeded: string[] = [];
  for (let i = 0; i < SEED_NOTES; i++) {
    const created = await fetch(`${appURL}/api/notes`, {
      method: "POST",
      headers: writeHeaders,
      body: JSON.stringify({ title: `seeded note ${i}`, body: `body of seeded note ${i}` }),
    });
    const id = ((await created.json()) as { note?: { id?: string } }).note?.id;
    if (created.status !== 201 || !id) throw new Error(`seeding answered ${created.status}`);
    seeded.push(id);
  }
  const readID = seeded[Math.floor(SEED_NOTES / 2)];

  const requests: Record<
    RouteName,
    { method: string; path: string; headers: Record<string, string>; body?: string }
  > = {
    read: { method: "GET", path: `/api/notes/${readID}`, headers: readHeaders },
    list: { method: "GET", path: "/api/notes", headers: readHeaders },
    create: { method: "POST", path: "/api/notes", headers: writeHeaders, body: noteBody },
    me: { method: "GET", path: "/api/auth/me", headers: readHeaders },
  };

  const db = postgres(databaseURL, { max: 1, onnotice: () => {} });
  /** Back to the seeded notes after a creation run: each run sees the same count to check. */
  const resetNotes = async () => {
    await db`delete from note where user_id = ${userID} and not (id = any(${seeded}))`;
    await db`vacuum note`;
  };

  // Same request, same body (creation: the same but for the new note's id and times).
  const normalize = (text: string) =>
    text
      .replace(/"id":"not_[0-9A-HJKMNP-TV-Z]{26}"/, '"id":"<note id>"')
      .replaceAll(/"(createdAt|updatedAt)":"[^"]+"/g, '"$1":"<time>"');
  for (const name of routes) {
    const request = requests[name];
    const answers = await Promise.all(
      targets.map(async (target) => {
        const response = await fetch(`${target.url}${request.path}`, {
          method: request.method,
          headers: request.headers,
          body: request.body,
        });
        // The read's conditional headers are work too (its ETag is a hash of the body).
        const tagged = `${response.headers.get("etag")} ${response.headers.get("cache-control")}`;
        return { target, status: response.status, text: await response.text(), tagged };
      }),
    );
    const reference = answers.at(-1) as (typeof answers)[0]; // the baseline
    for (const answer of answers.slice(0, -1)) {
      const same =
        name === "create"
          ? normalize(answer.text) === normalize(reference.text)
          : answer.text === reference.text &&
            (name !== "read" || answer.tagged === reference.tagged);
      if (answer.status !== reference.status || !same || answer.status >= 300) {
        throw new Error(
          `${name}: ${answer.target.label} and the baseline answer differently\n` +
            `  ${answer.target.label}: ${answer.status} ${answer.tagged} ${answer.text}\n  the baseline: ${reference.status} ${reference.tagged} ${reference.text}`,
        );
      }
    }
  }
  await resetNotes();

  const run = async (base: string, name: RouteName, seconds: number, pid?: number) => {
    const request = requests[name];
    const cpuBefore = cpuSeconds(pid);
    const result = await autocannon({
      url: `${base}${request.path}`,
      method: request.method,
      headers: request.headers,
      body: request.body,
      connections,
      duration: seconds,
    });
    const cpuAfter = cpuSeconds(pid);
    if (name === "create") await resetNotes();
    const cpu =
      cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
    return { result, cpu };
  };

  type Sample = {
    rps: number;
    p50: number;
    p99: number;
    requests: number;
    failed: number;
    /** The server process's CPU per request (µs), when /proc says. */
    cpuUs: number | undefined;
  };
  const samples: Record<string, Record<Key, Sample[]>> = {};
  const sample = ({ result, cpu }: Awaited<ReturnType<typeof run>>): Sample => ({
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    failed: result.non2xx + result.errors,
    cpuUs: cpu === undefined ? undefined : (cpu * 1e6) / Math.max(1, result.requests.total),
  });
  for (const name of routes) {
    samples[name] = { app: [], against: [], hono: [], baseline: [] };
    if (warmup > 0) for (const target of targets) await run(target.url, name, warmup);
  }
  const linesBefore = app.stdout.lines;
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    for (const name of routes) {
      // Each round starts with another target, and runs them in the other direction.
      const turned = [
        ...targets.slice(round % targets.length),
        ...targets.slice(0, round % targets.length),
      ];
      const order = round % 2 === 0 ? turned : turned.reverse();
      for (const target of order) {
        samples[name]?.[target.key].push(sample(await run(target.url, name, duration, target.pid)));
      }
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  const measuredSeconds = (performance.now() - started) / 1000;
  const appRequests = Object.values(samples)
    .flatMap((pair) => pair.app)
    .reduce((sum, s) => sum + s.requests, 0);
  const linesLogged = app.stdout.lines - linesBefore;

  if (process.env.DATABASE_URL) {
    // Not a throwaway database: leave it as found (notes and sessions go with the user).
    await db`delete from "user" where id = ${userID}`;
    await db`delete from rate_limit where key in (${`writes:${userID}`}, ${`signup:ip:${VIEWER}`})`;
  }
  await db.end({ timeout: 1 });
  await stop(app);
  if (other) await stop(other.server);
  if (hono) await stop(hono);
  await stop(baseline);

  // ---------------------------------------------------------------- report
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2
      ? (sorted[mid] ?? NaN)
      : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  };
  const summary = routes.map((name) => {
    const of = (list: Sample[]) => ({
      rps: median(list.map((s) => s.rps)),
      p50: median(list.map((s) => s.p50)),
      p99: median(list.map((s) => s.p99)),
      failed: list.reduce((sum, s) => sum + s.failed, 0),
      cpuUs: list.every((s) => s.cpuUs !== undefined)
        ? median(list.map((s) => s.cpuUs as number))
        : undefined,
    });
    const all = samples[name] as Record<Key, Sample[]>;
    const stats = Object.fromEntries(
      targets.map((target) => [target.key, of(all[target.key])]),
    ) as Record<Key, ReturnType<typeof of> | undefined>;
    /** `a`/`b` in throughput (ratio of the medians, and the range of the rounds' own ratios) and
     * in CPU per request (b's over a's: the throughput ratio on a core of its own). */
    const compare = (a: Key, b: Key) => {
      const x = stats[a];
      const y = stats[b];
      if (!x || !y) return undefined;
      const paired = all[a].map((s, i) => s.rps / (all[b][i]?.rps ?? NaN));
      return {
        ratio: x.rps / y.rps,
        range: [Math.min(...paired), Math.max(...paired)],
        cpuRatio: x.cpuUs && y.cpuUs ? y.cpuUs / x.cpuUs : undefined,
      };
    };
    return {
      route: name,
      request: `${requests[name].method} ${requests[name].path.replace(/not_\w+/, ":id")}`,
      ...stats,
      appVsBaseline: compare("app", "baseline"),
      ...(other
        ? {
            againstVsBaseline: compare("against", "baseline"),
            appVsAgainst: compare("app", "against"),
          }
        : {}),
      ...(hono
        ? { honoVsBaseline: compare("hono", "baseline"), appVsHono: compare("app", "hono") }
        : {}),
      rounds: all,
    };
  });
  const loadAfter = load();
  const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], {
    cwd: root,
    encoding: "utf8",
  }).stdout.trim();
  // Built here from a working tree with uncommitted changes (other than HEAD, then); a bundle
  // given with --bundle says nothing about the tree.
  const dirty = bundleOption
    ? undefined
    : spawnSync("git", ["status", "--porcelain", "--", "packages/core/src"], {
        cwd: root,
        encoding: "utf8",
      }).stdout.trim() !== "";

  const lines = [
    `API bench: the bundle (node ${nodeArgs.join(" ") || "without options"}, LOG_LEVEL=${logLevel}, behind ORIGIN_SECRET, stdout a drained pipe) vs raw node:http + postgres.js`,
    `${connections} connections, ${rounds} rounds x ${duration} s per route and target (alternating), medians; node v${node.version} (${node.source}), ${bundleOption ? `bundle ${bundle}` : `${commit}${dirty ? " + uncommitted changes" : ""}`}`,
    "",
    `| route | ${targets.map((t) => `${t.key} req/s`).join(" | ")} | app/baseline (rounds) | ${other ? "against/baseline | app/against (rounds) | " : ""}${hono ? "hono/baseline | app/hono (rounds) | " : ""}p50 / p99 ms ${targets.map((t) => t.key).join(" / ")} | CPU µs/req ${targets.map((t) => t.key).join(" / ")} | CPU baseline/app${other ? " | CPU against/app" : ""} |`,
    `|---|${targets.map(() => "---:|").join("")}---:|${other ? "---:|---:|" : ""}${hono ? "---:|---:|" : ""}---:|---:|---:|${other ? "---:|" : ""}`,
    ...summary.map((s) => {
      const ratio = (c: typeof s.appVsBaseline, withRange = true) =>
        c
          ? `${c.ratio.toFixed(2)}${withRange ? ` (${c.range.map((r) => r.toFixed(2)).join("-")})` : ""}`
          : "n/a";
      const cpu = (c: typeof s.appVsBaseline) => (c?.cpuRatio ? c.cpuRatio.toFixed(2) : "n/a");
      const each = (f: (x: NonNullable<typeof s.app>) => string) =>
        targets.map((t) => (s[t.key] ? f(s[t.key] as NonNullable<typeof s.app>) : "n/a"));
      const cells = [
        s.request,
        ...each((x) => String(Math.round(x.rps))),
        ratio(s.appVsBaseline),
        ...(other ? [ratio(s.againstVsBaseline, false), ratio(s.appVsAgainst)] : []),
        ...(hono ? [ratio(s.honoVsBaseline, false), ratio(s.appVsHono)] : []),
        each((x) => `${x.p50} / ${x.p99}`).join(" · "),
        each((x) => (x.cpuUs === undefined ? "n/a" : String(Math.round(x.cpuUs)))).join(" / "),
        cpu(s.appVsBaseline),
        // against's CPU over app's: above 1, app does the same work with less.
        ...(other
          ? [s.app?.cpuUs && s.against?.cpuUs ? (s.against.cpuUs / s.app.cpuUs).toFixed(2) : "n/a"]
          : []),
      ];
      return `| ${cells.join(" | ")} |`;
    }),
    ...(other
      ? [
          "",
          `app: ${bundle} (LOG_LEVEL=${logLevel}, tracing ${tracing}, node ${nodeArgs.join(" ") || "-"}); against: ${against} (LOG_LEVEL=${againstLogLevel}, tracing ${againstTracing}, node ${againstNodeArgs.join(" ") || "-"})`,
        ]
      : []),
    "",
    `the bundle logged ${linesLogged} lines for ${appRequests} measured requests (${(linesLogged / Math.max(1, appRequests)).toFixed(2)} a request) to its stdout pipe, ${(app.stdout.bytes / 1e6).toFixed(1)} MB in all`,
    ...(ingest
      ? [
          `tracing: the fake Sentry ingest received ${ingest.received.envelopes} envelopes, ${ingest.received.transactions} transactions with ${ingest.received.spans} spans`,
        ]
      : []),
    `load average (1/5/15 min) before ${loadBefore}, after ${loadAfter}; ${Math.round(measuredSeconds)} s measured`,
  ];
  for (const s of summary) {
    for (const target of targets) {
      const failed = s[target.key]?.failed ?? 0;
      if (failed > 0) lines.push(`WARNING ${s.route}: ${failed} failed requests (${target.label})`);
    }
  }
  process.stdout.write(`${lines.join("\n")}\n`);

  const results = path.join(root, "bench/results");
  mkdirSync(results, { recursive: true });
  const file = path.join(results, `api-${new Date().toISOString().replaceAll(":", "-")}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        bench: "api",
        at: new Date().toISOString(),
        commit,
        dirty,
        node: `v${node.version}`,
        nodeSource: node.source,
        bundle,
        against,
        settings: {
          rounds,
          duration,
          warmup,
          connections,
          logLevel,
          againstLogLevel: against ? againstLogLevel : undefined,
          tracing,
          againstTracing: against ? againstTracing : undefined,
          nodeArgs,
          againstNodeArgs: against ? againstNodeArgs : undefined,
          routes,
          hono: withHono,
          seedNotes: SEED_NOTES,
        },
        load: { before: loadBefore, after: loadAfter },
        log: { lines: linesLogged, requests: appRequests, bytes: app.stdout.bytes },
        ingest: ingest?.received,
        routes: summary,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`written to ${path.relative(root, file)}\n`);
}

/**
 * A loopback stand-in for Sentry's ingest, for `--tracing`: answers every envelope at once and
 * counts the transactions and their spans (gzip or plain). What it costs is this process's, not
 * the measured server's.
 */
async function fakeIngest() {
  const received = { envelopes: 0, transactions: 0, spans: 0 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.envelopes++;
      const body = Buffer.concat(chunks);
      const text = (
        request.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body
      ).toString("utf8");
      const lines = text.split("\n");
      for (let i = 1; i + 1 < lines.length; i += 2) {
        if (!(lines[i] ?? "").includes('"type":"transaction"')) continue;
        received.transactions++;
        received.spans += (lines[i + 1]?.match(/"span_id"/g)?.length ?? 1) - 1;
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  server.unref();
  const { port } = server.address() as AddressInfo;
  return { dsn: `http://publickey@127.0.0.1:${port}/1`, received };
}

try {
  await main();
} finally {
  await cleanup();
}
