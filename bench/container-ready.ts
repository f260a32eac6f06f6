import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";
import { type Postgres, startPostgres } from "../scripts/drill/lib";
import { freePort } from "../scripts/net";
import { benchNode, containerRuntime } from "./lib/bench-node";

/**
 * `npm run bench -- container-ready`: how long the API container takes to be ready, the time
 * scale-out on Fargate waits for. From `node --enable-source-maps server.mjs` (the Dockerfile's
 * CMD) to the first 200 of /api/health/ready, as deployed: migrations off (the deploy's migrator
 * ran them), ORIGIN_SECRET set, LOG_LEVEL=info to a pipe, on a migrated Postgres (a throwaway
 * one, or DATABASE_URL's, which must be migrated). The bundle is built by its npm script
 * (build:server) into a directory outside the repository holding only what the image holds
 * beside it (node_modules/@node-rs).
 * Against a baseline doing the same work with nothing else loaded (bench/baseline/
 * ready-baseline.mjs: node:http + postgres.js, bundled alike), rounds alternating: the bundle
 * without a DSN, with one (a loopback Sentry), the baseline. Medians and ratios, the bundle's
 * size and what is big in it (esbuild's metafile). CONTAINER_READY_AGAINST=<server.mjs> adds
 * another build to the rounds (the one before a change, say). Runs on the container's Node
 * (packages/core/Dockerfile's major; BENCH_NODE=current or a path for another). Writes
 * bench/results/.
 */

const root = fileURLToPath(new URL("..", import.meta.url));
const runs = Number(process.env.RUNS ?? 9);
/** The container's Node (bench/lib/bench-node.ts); BENCH_NODE=current for this machine's. */
const node = benchNode(process.env.BENCH_NODE ?? "production", containerRuntime());
const SECRET = "bench-origin-secret-of-at-least-32-characters";
/** What CloudFront adds to every /api request (infra/origin.ts). */
const headers = {
  "x-slipway-origin-secret": SECRET,
  "cloudfront-viewer-address": "198.51.100.7:40000",
};
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;

const loadBefore = load();
const dir = mkdtempSync(path.join(tmpdir(), "slipway-container-ready-"));
let pg: Postgres | undefined;
const children = new Set<ChildProcess>();

/** The server bundle by its own script, as the Dockerfile builds it, with a metafile. */
function buildServer(): { file: string; metafile: Metafile } {
  const core = path.join(root, "packages/core");
  const script = (
    JSON.parse(readFileSync(path.join(core, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    }
  ).scripts["build:server"];
  if (!script) throw new Error("packages/core has no build:server script");
  const out = path.join(dir, "app");
  const meta = path.join(dir, "meta.json");
  // The script's output, moved here; the metafile added (it changes nothing in the output).
  const command = `${script.replaceAll("dist/", `${out}/`)} --metafile=${meta}`;
  const result = spawnSync("sh", ["-c", command], {
    cwd: core,
    encoding: "utf8",
    env: { ...process.env, PATH: `${path.join(root, "node_modules/.bin")}:${process.env.PATH}` },
  });
  if (result.status !== 0) throw new Error(`build:server failed:\n${result.stderr}`);
  // What the image holds beside the bundle (packages/core/Dockerfile): the Argon2 addon only.
  mkdirSync(path.join(out, "node_modules"));
  symlinkSync(path.join(root, "node_modules/@node-rs"), path.join(out, "node_modules/@node-rs"));
  return { file: path.join(out, "server.mjs"), metafile: JSON.parse(readFileSync(meta, "utf8")) };
}

async function buildBaseline(): Promise<string> {
  const file = path.join(dir, "baseline", "server.mjs");
  await build({
    entryPoints: [path.join(root, "bench/baseline/ready-baseline.mjs")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    outfile: file,
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: "silent",
  });
  return file;
}

/** The CPU a process has used so far (user + system, from /proc), in milliseconds. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime (fields 14 and 15 of stat), in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * From spawning `node` on `file` to the first 200 of /api/health/ready: the wall time, and the
 * CPU the server used by then (less moved by what else the machine runs).
 */
async function timeToReady(
  file: string,
  env: Record<string, string>,
  flags = ["--enable-source-maps"],
): Promise<{ wall: number; cpu: number }> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(node.path, [...flags, path.basename(file)], {
    cwd: path.dirname(file),
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      PORT: String(port),
      LOG_LEVEL: "info",
      ORIGIN_SECRET: SECRET,
      MIGRATE_ON_BOOT: "false",
      // The links the API's task has (infra/api.ts), as SST passes them: deployed mode, the
      // outbox relayed to SQS (nothing is sent: the outbox is empty), attachments on S3.
      AWS_REGION: "us-east-1",
      SST_RESOURCE_App: JSON.stringify({ name: "slipway", stage: "bench" }),
      SST_RESOURCE_TaskQueue: JSON.stringify({
        url: "https://sqs.us-east-1.amazonaws.com/123456789012/bench",
      }),
      SST_RESOURCE_AttachmentStore: JSON.stringify({ bucket: "bench-attachments" }),
      MIGRATIONS_DIR: path.join(root, "migrations"),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  // Drained as ECS's log driver would, never kept.
  child.stdout?.resume();
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  const url = `http://127.0.0.1:${port}/api/health/ready`;
  try {
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`${file} exited (${child.exitCode}):\n${stderr}`);
      const answer = await fetch(url, { headers }).then(
        async (response) => ({ status: response.status, body: await response.text() }),
        () => ({ status: 0, body: "" }),
      );
      if (answer.status === 200)
        return { wall: performance.now() - started, cpu: cpuMs(child.pid as number) };
      if (performance.now() - started > 60_000)
        throw new Error(`${url}: no 200 within 60 s (last ${answer.status} ${answer.body})`);
      // Fine-grained polling: the interval is the measurement's resolution.
      await new Promise((wake) => setTimeout(wake, 5));
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
    children.delete(child);
  }
}

/** Bytes per package in the bundle's output (the metafile), largest first. */
function largest(metafile: Metafile) {
  const bytes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs))
    for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? "(app)";
      bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
    }
  return [...bytes].sort((a, b) => b[1] - a[1]).map(([name, size]) => ({ name, bytes: size }));
}

async function main() {
  let databaseURL = process.env.DATABASE_URL;
  if (!databaseURL) {
    pg = await startPostgres();
    databaseURL = pg.url;
  }
  const app = buildServer();
  const baseline = await buildBaseline();
  const onDisk = (file: string) => {
    const files = readdirSync(path.dirname(file)).filter((name) => name.endsWith(".mjs"));
    return files.reduce((sum, name) => sum + statSync(path.join(path.dirname(file), name)).size, 0);
  };

  // Migrated once, by the bundle itself (as offline boots do); every measured start skips it.
  await timeToReady(app.file, { DATABASE_URL: databaseURL, MIGRATE_ON_BOOT: "true" });

  const sentry = createServer((_, res) => res.end("{}")).listen(0, "127.0.0.1");
  await once(sentry, "listening");
  const dsn = `http://key@127.0.0.1:${(sentry.address() as { port: number }).port}/1`;

  const variants: {
    name: string;
    file: string;
    env: Record<string, string>;
    flags?: string[];
  }[] = [
    { name: "bundle", file: app.file, env: { DATABASE_URL: databaseURL } },
    { name: "bundle, DSN", file: app.file, env: { DATABASE_URL: databaseURL, SENTRY_DSN: dsn } },
    // What --enable-source-maps costs (Node reads and indexes every chunk's map as it loads).
    { name: "no maps", file: app.file, env: { DATABASE_URL: databaseURL }, flags: [] },
    { name: "baseline", file: baseline, env: { DATABASE_URL: databaseURL } },
  ];
  // Another build to compare in the same run (e.g. the one before a change): its server.mjs,
  // with node_modules/@node-rs beside it.
  const against = process.env.CONTAINER_READY_AGAINST;
  if (against)
    variants.push({
      name: "against",
      file: path.resolve(against),
      env: { DATABASE_URL: databaseURL },
    });
  const times = new Map(
    variants.map((variant) => [variant.name, [] as { wall: number; cpu: number }[]]),
  );
  for (let round = 0; round < runs; round++)
    for (const variant of variants)
      times.get(variant.name)?.push(await timeToReady(variant.file, variant.env, variant.flags));
  sentry.close();

  const base = times.get("baseline") ?? [];
  const baseWall = median(base.map((run) => run.wall));
  const baseCpu = median(base.map((run) => run.cpu));
  const rows = variants.map((variant) => {
    const all = times.get(variant.name) ?? [];
    const ms = median(all.map((run) => run.wall));
    const cpu = median(all.map((run) => run.cpu));
    return { name: variant.name, ms, ratio: ms / baseWall, cpu, cpuRatio: cpu / baseCpu, all };
  });
  const bundleBytes = onDisk(app.file);
  const big = largest(app.metafile).slice(0, 12);
  const lines = [
    `API container, node server.mjs -> first 200 of /api/health/ready (migrations off, as deployed); ` +
      `median of ${runs}, alternating; node v${node.version} (${node.source}); load ${loadBefore}`,
    ...rows.map(
      (row) =>
        `  ${row.name.padEnd(12)} ${row.ms.toFixed(0).padStart(5)} ms  ${row.ratio.toFixed(2)}x baseline   ` +
        `cpu ${row.cpu.toFixed(0).padStart(4)} ms  ${row.cpuRatio.toFixed(2)}x   [${row.all.map((run) => Math.round(run.wall)).join(", ")}]`,
    ),
    `  bundle on disk ${kb(bundleBytes)} (baseline ${kb(onDisk(baseline))}); largest: ` +
      big.map((entry) => `${entry.name} ${kb(entry.bytes)}`).join(", "),
    `load after ${load()}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);

  const git = (...args: string[]) =>
    spawnSync("git", args, { cwd: root, encoding: "utf8" }).stdout.trim();
  const results = path.join(root, "bench/results");
  mkdirSync(results, { recursive: true });
  writeFileSync(
    path.join(results, `container-ready-${new Date().toISOString().replaceAll(":", "-")}.json`),
    `${JSON.stringify(
      {
        bench: "container-ready",
        at: new Date().toISOString(),
        commit: git("rev-parse", "HEAD"),
        dirty: git("status", "--porcelain").length > 0,
        node: `v${node.version}`,
        nodeSource: node.source,
        runs,
        load: { before: loadBefore, after: load() },
        variants: rows,
        bundleBytes,
        largest: largest(app.metafile).slice(0, 30),
      },
      null,
      2,
    )}\n`,
  );
}

try {
  await main();
} finally {
  for (const child of children) child.kill("SIGKILL");
  await pg?.remove();
  rmSync(dir, { recursive: true, force: true });
}
