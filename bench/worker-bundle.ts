import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

/**
 * `npm run bench -- worker-bundle`: the task worker Lambda bundled as SST bundles it (esbuild,
 * ESM, minified, node22), three ways, side by side:
 *   baseline  Sentry replaced by a stub (what the worker costs without error reporting)
 *   inline    Sentry bundled into the one file (SST's default, no splitting)
 *   split     splitting on: Sentry in a chunk imported only when a DSN is set (what infra uses)
 * For each: bytes on disk and the median cold import time (a new node process each run), without
 * a DSN and with one. Then the per-invocation cost of Sentry's wrapper on a warm handler.
 */

const root = fileURLToPath(new URL("..", import.meta.url));
const entry = path.join(root, "packages/functions/src/worker.ts");
const runs = Number(process.env.RUNS ?? 9);

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

async function bundle(variant: "baseline" | "inline" | "split") {
  const outdir = mkdtempSync(path.join(tmpdir(), `slipway-bench-${variant}-`));
  await build({
    entryPoints: { bundle: entry },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    minify: true,
    splitting: variant === "split",
    outdir,
    outExtension: { ".js": ".mjs" },
    // PGlite is never used on Lambda (DATABASE_URL comes from the link).
    external: ["@electric-sql/pglite", "drizzle-orm/pglite"],
    banner: {
      js: "import{createRequire as __cr}from'module';const require=__cr(import.meta.url);",
    },
    plugins: variant === "baseline" ? [stubSentry] : [],
    logLevel: "silent",
  });
  const files = readdirSync(outdir).filter((f) => f.endsWith(".mjs"));
  const bytes = (f: string) => statSync(path.join(outdir, f)).size;
  return {
    outdir,
    entryBytes: bytes("bundle.mjs"),
    totalBytes: files.reduce((sum, f) => sum + bytes(f), 0),
  };
}

/** Runs node asynchronously: the loopback Sentry in this process must keep answering. */
function run(args: string[], env: NodeJS.ProcessEnv, cwd = root): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
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

async function coldImportMs(file: string, dsn: string | undefined): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = await run(
      // Exit explicitly: an initialised SDK may hold the event loop open.
      [
        "--input-type=module",
        "-e",
        `const t=performance.now();await import(${JSON.stringify(file)});console.log(performance.now()-t);process.exit(0)`,
      ],
      {
        PATH: process.env.PATH,
        DATABASE_URL: "postgres://bench@127.0.0.1:1/bench", // never connected at import
        LOG_LEVEL: "silent",
        ...(dsn ? { SENTRY_DSN: dsn } : {}),
      },
    );
    times.push(Number(out.trim()));
  }
  return median(times);
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;

// A loopback Sentry, so the DSN-set runs initialise for real and send nothing out.
const sentry = createServer((_, res) => res.end("{}")).listen(0, "127.0.0.1");
await new Promise((resolve) => sentry.once("listening", resolve));
const dsn = `http://key@127.0.0.1:${(sentry.address() as { port: number }).port}/1`;

const rows: string[] = [];
const results: Record<string, { noDsn: number; withDsn: number; entry: number; total: number }> =
  {};
for (const variant of ["baseline", "inline", "split"] as const) {
  const out = await bundle(variant);
  const file = path.join(out.outdir, "bundle.mjs");
  results[variant] = {
    noDsn: await coldImportMs(file, undefined),
    withDsn: await coldImportMs(file, dsn),
    entry: out.entryBytes,
    total: out.totalBytes,
  };
  rmSync(out.outdir, { recursive: true, force: true });
}
const base = results.baseline;
if (!base) throw new Error("no baseline");
for (const [variant, r] of Object.entries(results)) {
  rows.push(
    `  ${variant.padEnd(9)} entry ${kb(r.entry).padStart(7)}  total ${kb(r.total).padStart(7)}  ` +
      `cold import, no DSN ${r.noDsn.toFixed(0).padStart(4)} ms (${(r.noDsn / base.noDsn).toFixed(2)}x)  ` +
      `with DSN ${r.withDsn.toFixed(0).padStart(4)} ms (${(r.withDsn / base.noDsn).toFixed(2)}x)`,
  );
}

// Warm invocations: the same handler, plain and wrapped by Sentry (flush on every return).
// Inside the repository, so ESM resolution finds @sentry/aws-serverless.
const flushScript = path.join(root, "node_modules", ".cache", "slipway", "bench-flush.mjs");
mkdirSync(path.dirname(flushScript), { recursive: true });
writeFileSync(
  flushScript,
  `import * as Sentry from "@sentry/aws-serverless";
   Sentry.init({ dsn: process.env.DSN, tracesSampleRate: 0 });
   const plain = async () => ({ batchItemFailures: [] });
   const wrapped = Sentry.wrapHandler(plain);
   const ctx = { functionName: "bench", awsRequestId: "r", getRemainingTimeInMillis: () => 60000 };
   const time = async (h) => { const t = []; for (let i = 0; i < 300; i++) { const s = performance.now(); await h({ Records: [] }, ctx); t.push(performance.now() - s); } t.sort((a, b) => a - b); return t[150]; };
   await time(plain); await time(wrapped);
   console.log(JSON.stringify({ plain: await time(plain), wrapped: await time(wrapped) }));
   process.exit(0);`,
);
const flush = await run(
  [flushScript],
  { ...process.env, DSN: dsn },
  path.join(root, "packages/functions"),
);
sentry.close();
const warm = JSON.parse(flush.trim().split("\n").at(-1) ?? "{}") as {
  plain: number;
  wrapped: number;
};

process.stdout.write(
  `worker bundle (esbuild, ESM, minified; median of ${runs} cold imports, baseline = no Sentry)\n${rows.join("\n")}\n` +
    `warm invocation, median of 300: plain ${warm.plain.toFixed(3)} ms, wrapped by Sentry (flush included) ` +
    `${warm.wrapped.toFixed(3)} ms: +${(warm.wrapped - warm.plain).toFixed(3)} ms\n`,
);
