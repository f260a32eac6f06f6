import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { lambdaNodejs } from "../infra/bundling";
import {
  bundledPackages,
  bytesOf,
  type NodejsProperties,
  outputOf,
  sstEsbuildOptions,
  staticClosure,
} from "../scripts/infra/worker/function-bundle";
import { benchNode, lambdaRuntime } from "./lib/bench-node";

/**
 * `npm run bench -- worker-bundle`: the worker and migrator Lambdas bundled exactly as SST
 * bundles them (scripts/infra/worker/function-bundle.ts), side by side:
 *   before    the Function's default `nodejs` options, as infra deployed them until ADR 022
 *             (SST does not minify unless asked; everything bundled, PGlite and the AWS SDK too)
 *   deployed  infra/bundling.ts's options (minified, split, the runtime's AWS SDK left external)
 *   baseline  the deployed options with Sentry replaced by a stub: the worker without error
 *             reporting, the floor the deployed bundle is compared to
 * For each: bytes the zip holds (source maps excluded), bytes a cold start reads (the entry and
 * its static chunks), and the median cold import time in a new node process, without a DSN and
 * with one (a loopback Sentry). Rounds alternate between the variants. The externals resolve
 * from the repository's node_modules, standing in for the runtime's copy of the SDK. Then the
 * per-invocation cost of Sentry's wrapper on a warm handler. Writes bench/results/.
 */

const root = fileURLToPath(new URL("..", import.meta.url));
const runs = Number(process.env.RUNS ?? 9);
const runtime = "nodejs22.x";
/** The Lambda runtime's Node (bench/lib/bench-node.ts); BENCH_NODE=current for this machine's. */
const node = benchNode(process.env.BENCH_NODE ?? "production", lambdaRuntime(runtime));
// Inside the repository, so the bundles' external imports resolve as the runtime's would.
const work = path.join(root, "node_modules", ".cache", "slipway", "bench-worker-bundle");

const stubSentry: Plugin = {
  name: "stub-sentry",
  setup(b) {
    b.onResolve({ filter: /^@sentry\// }, () => ({ path: "sentry-stub", namespace: "stub" }));
    b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
      contents:
        "export const init=()=>{};export const wrapHandler=(h)=>h;export const withScope=()=>{};export const captureException=()=>{};export const flush=async()=>true;",
    }));
  },
};

interface Variant {
  name: string;
  entry: "worker" | "migrator";
  properties: NodejsProperties;
  plugins?: Plugin[];
}

const variants: Variant[] = [
  { name: "worker before", entry: "worker", properties: {} },
  { name: "worker deployed", entry: "worker", properties: lambdaNodejs },
  { name: "worker baseline", entry: "worker", properties: lambdaNodejs, plugins: [stubSentry] },
  { name: "migrator before", entry: "migrator", properties: {} },
  { name: "migrator deployed", entry: "migrator", properties: lambdaNodejs },
];

async function bundle(variant: Variant, outDir: string) {
  rmSync(outDir, { recursive: true, force: true });
  const options = sstEsbuildOptions({
    entry: path.join(root, `packages/functions/src/${variant.entry}.ts`),
    outDir,
    runtime,
    properties: variant.properties,
  });
  const result = await build({ ...options, plugins: variant.plugins ?? [] });
  const outputs = Object.entries(result.metafile.outputs).filter(
    ([file]) => !file.endsWith(".map"),
  );
  const entry = path.join(outDir, "bundle.mjs");
  const cold = staticClosure(result.metafile, entry);
  // With a DSN the entry also reads the error-reporting SDK's chunk and its static imports.
  const sdk = outputOf(result.metafile, path.join(root, "packages/functions/src/sentry-sdk.ts"));
  const withDsn = sdk ? [...cold, ...staticClosure(result.metafile, sdk)] : cold;
  const packages = [...bundledPackages(result.metafile)].sort((a, b) => b[1] - a[1]);
  return {
    entry,
    totalBytes: outputs.reduce((sum, [, output]) => sum + output.bytes, 0),
    coldStartBytes: bytesOf(result.metafile, cold),
    withDsnBytes: bytesOf(result.metafile, withDsn),
    files: outputs.length,
    largest: packages.slice(0, 8).map(([name, bytes]) => ({ name, bytes })),
  };
}

/** Runs node asynchronously: the loopback Sentry in this process must keep answering. */
function run(args: string[], env: NodeJS.ProcessEnv, cwd = root): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(node.path, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      err += chunk;
    });
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
  });
}

/** Wall time of the import, and the CPU time the process spent on it (less load-sensitive). */
async function coldImportMs(
  file: string,
  dsn: string | undefined,
): Promise<{ wall: number; cpu: number }> {
  const out = await run(
    // Exit explicitly: an initialised SDK may hold the event loop open.
    [
      "--input-type=module",
      "-e",
      `const c=process.cpuUsage(),t=performance.now();await import(${JSON.stringify(file)});const u=process.cpuUsage(c);console.log(performance.now()-t,(u.user+u.system)/1000);process.exit(0)`,
    ],
    {
      PATH: process.env.PATH,
      DATABASE_URL: "postgres://bench@127.0.0.1:1/bench", // never connected at import
      DATABASE_OWNER_URL: "postgres://bench@127.0.0.1:1/bench",
      LOG_LEVEL: "silent",
      ...(dsn ? { SENTRY_DSN: dsn } : {}),
    },
  );
  const [wall, cpu] = out.trim().split(" ").map(Number);
  return { wall: wall ?? Number.NaN, cpu: cpu ?? Number.NaN };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");

const loadBefore = load();
// A loopback Sentry, so the DSN-set runs initialise for real and send nothing out.
const sentry = createServer((_, res) => res.end("{}")).listen(0, "127.0.0.1");
await new Promise((resolve) => sentry.once("listening", resolve));
const dsn = `http://key@127.0.0.1:${(sentry.address() as { port: number }).port}/1`;

mkdirSync(work, { recursive: true });
const built = await Promise.all(
  variants.map(async (variant, index) => ({
    variant,
    ...(await bundle(variant, path.join(work, String(index)))),
    noDsn: [] as { wall: number; cpu: number }[],
    withDsn: [] as { wall: number; cpu: number }[],
  })),
);
// Alternating rounds: each round imports every variant once, with and without a DSN.
for (let round = 0; round < runs; round++) {
  for (const entry of built) {
    entry.noDsn.push(await coldImportMs(entry.entry, undefined));
    entry.withDsn.push(await coldImportMs(entry.entry, dsn));
  }
}

// Warm invocations: the same handler, plain and wrapped by the Lambdas' error reporting
// (packages/functions/src/sentry.ts: a flush on every return), with a DSN.
const flushScript = path.join(work, "bench-flush.mts");
writeFileSync(
  flushScript,
  `import { withErrorReporting } from ${JSON.stringify(path.join(root, "packages/functions/src/sentry.ts"))};
   const plain = async () => ({ batchItemFailures: [] });
   const wrapped = await withErrorReporting(plain);
   const ctx = { functionName: "bench", awsRequestId: "r", getRemainingTimeInMillis: () => 60000 } as never;
   const time = async (h: typeof plain) => { const t: number[] = []; for (let i = 0; i < 300; i++) { const s = performance.now(); await h({ Records: [] } as never, ctx); t.push(performance.now() - s); } t.sort((a, b) => a - b); return t[150]; };
   await time(plain); await time(wrapped);
   console.log(JSON.stringify({ plain: await time(plain), wrapped: await time(wrapped) }));
   process.exit(0);`,
);
const flush = await run(["--import", "tsx", flushScript], {
  ...process.env,
  SENTRY_DSN: dsn,
  LOG_LEVEL: "silent",
});
sentry.close();
const warm = JSON.parse(flush.trim().split("\n").at(-1) ?? "{}") as {
  plain: number;
  wrapped: number;
};

const rows = built.map((entry) => ({
  name: entry.variant.name,
  totalBytes: entry.totalBytes,
  coldStartBytes: entry.coldStartBytes,
  files: entry.files,
  withDsnBytes: entry.withDsnBytes,
  noDsnMs: median(entry.noDsn.map((run) => run.wall)),
  withDsnMs: median(entry.withDsn.map((run) => run.wall)),
  noDsnCpuMs: median(entry.noDsn.map((run) => run.cpu)),
  withDsnCpuMs: median(entry.withDsn.map((run) => run.cpu)),
  noDsn: entry.noDsn,
  withDsn: entry.withDsn,
  largest: entry.largest,
}));
const baseline = rows.find((row) => row.name === "worker baseline");
if (!baseline) throw new Error("no baseline");
const lines = [
  `Lambda bundles as SST builds them (${runtime}); median of ${runs} cold imports, alternating, on node v${node.version} (${node.source}); ` +
    `ratios against the worker baseline without a DSN (deployed options, Sentry stubbed); load ${loadBefore}`,
  ...rows.map(
    (row) =>
      `  ${row.name.padEnd(18)} zip ${kb(row.totalBytes).padStart(8)} in ${String(row.files).padStart(2)} files  ` +
      `reads ${kb(row.coldStartBytes).padStart(8)} / ${kb(row.withDsnBytes).padStart(8)} with DSN  ` +
      `import, no DSN ${row.noDsnMs.toFixed(0).padStart(4)} ms (cpu ${row.noDsnCpuMs.toFixed(0).padStart(4)}, ${(row.noDsnMs / baseline.noDsnMs).toFixed(2)}x)  ` +
      `with DSN ${row.withDsnMs.toFixed(0).padStart(4)} ms (cpu ${row.withDsnCpuMs.toFixed(0).padStart(4)}, ${(row.withDsnMs / baseline.noDsnMs).toFixed(2)}x)`,
  ),
  `warm invocation, median of 300: plain ${warm.plain.toFixed(3)} ms, with error reporting (flush included) ` +
    `${warm.wrapped.toFixed(3)} ms: +${(warm.wrapped - warm.plain).toFixed(3)} ms`,
  `load after ${load()}`,
];
process.stdout.write(`${lines.join("\n")}\n`);

const git = (...args: string[]) =>
  spawnSync("git", args, { cwd: root, encoding: "utf8" }).stdout.trim();
const results = path.join(root, "bench/results");
mkdirSync(results, { recursive: true });
writeFileSync(
  path.join(results, `worker-bundle-${new Date().toISOString().replaceAll(":", "-")}.json`),
  `${JSON.stringify(
    {
      bench: "worker-bundle",
      at: new Date().toISOString(),
      commit: git("rev-parse", "HEAD"),
      dirty: git("status", "--porcelain").length > 0,
      node: `v${node.version}`,
      nodeSource: node.source,
      runtime,
      runs,
      load: { before: loadBefore, after: load() },
      variants: rows,
      warm,
    },
    null,
    2,
  )}\n`,
);
rmSync(work, { recursive: true, force: true });
