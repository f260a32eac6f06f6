import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emfProblems } from "../../packages/core/test/emf";
import { sentryServer } from "../../packages/core/test/sentry-server";
import {
  buildFunctionBundle,
  bytesOf,
  dynamicallyImportedCommonJs,
  externalImports,
  type FunctionBundle,
  outputOf,
  staticClosure,
} from "../../scripts/infra/worker/function-bundle";
import { lambdaNodejs, OFFLINE_ONLY, PRESIGNERS, RUNTIME_PROVIDED_SDK } from "../bundling";

/**
 * The worker and migrator Lambdas, built exactly as a deploy builds them (SST's build, copied in
 * scripts/infra/worker/function-bundle.ts, with infra/bundling.ts's options, which tasks.ts and
 * database.ts pass): what each bundle may contain and how much a cold start reads
 * (docs/decisions/022-bundle-size-and-cold-start.md). Sizes are deterministic; times are for
 * `npm run bench -- worker-bundle`.
 */

const root = fileURLToPath(new URL("../..", import.meta.url));
/** The budget a cold start reads, and the zip's code beside error reporting and the CA bundle. */
const BUDGET_BYTES = 450 * 1024;

// Inside the repository: the bundles' external imports resolve from its node_modules, as they
// resolve from the Lambda runtime's.
const scratch = path.join(root, "node_modules", ".cache", "slipway");
mkdirSync(scratch, { recursive: true });
const dir = mkdtempSync(path.join(scratch, "lambda-bundles-"));
const built: Partial<Record<"worker" | "migrator", FunctionBundle>> = {};
beforeAll(async () => {
  for (const name of ["worker", "migrator"] as const) {
    built[name] = await buildFunctionBundle({
      entry: path.join(root, `packages/functions/src/${name}.ts`),
      outDir: path.join(dir, name),
      runtime: "nodejs22.x",
      properties: lambdaNodejs,
    });
  }
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bundle = (name: "worker" | "migrator") => {
  const found = built[name];
  if (!found) throw new Error(`${name} was not built`);
  return found;
};
/** Every file esbuild read for the build, whether or not any of it was kept. */
const inputs = (metafile: Metafile) => Object.keys(metafile.inputs);
/** The files with code in the output (tree shaking dropped the others). */
const kept = (metafile: Metafile) => [
  ...new Set(
    Object.values(metafile.outputs).flatMap((output) =>
      Object.entries(output.inputs)
        .filter(([, input]) => input.bytesInOutput > 0)
        .map(([file]) => file),
    ),
  ),
];
const relative = (file: string) => path.relative(root, path.resolve(file));

/** The chunks only error reporting loads (with a DSN), and the RDS CA bundle's chunk. */
function lazyWeights(built: FunctionBundle) {
  const { metafile } = built;
  const cold = new Set(staticClosure(metafile, built.entry));
  const sdks = [
    "packages/functions/src/sentry-sdk.ts",
    "packages/core/src/observability/sentry-node.ts",
  ]
    .map((source) => outputOf(metafile, path.join(root, source)))
    .filter((file): file is string => file !== undefined);
  const sentry = new Set(sdks.flatMap((file) => staticClosure(metafile, file)));
  for (const file of cold) sentry.delete(file);
  const ca = outputOf(metafile, path.join(root, "packages/core/src/db/rds-ca.ts"));
  return { sdks, sentry: bytesOf(metafile, sentry), ca, caBytes: ca ? bytesOf(metafile, [ca]) : 0 };
}

describe.each(["worker", "migrator"] as const)("the %s Lambda's bundle, as deployed", (name) => {
  it("bundles no AWS SDK (the runtime's is used), no PGlite, no web framework, no password hashing", () => {
    const { metafile } = bundle(name);
    const read = inputs(metafile).map(relative);
    // A bundled @aws-sdk or @smithy file would run beside the runtime's client of another version.
    expect(read.filter((file) => /node_modules\/@(aws-sdk|smithy)\//.test(file))).toEqual([]);
    expect(read.filter((file) => /pglite/.test(file))).toEqual([]);
    const found = kept(metafile).map(relative);
    // The routes and the OpenAPI generator belong to the API (tasks.ts imports no barrel).
    expect(
      found.filter((file) => /node_modules\/(hono-openapi|@hono)\/|\.routes\.ts$/.test(file)),
    ).toEqual([]);
    // zod's locales come with `import { z }` (a namespace kept whole); `import * as z` drops them.
    expect(found.filter((file) => /zod\/v4\/locales\/(?!en\.js)/.test(file))).toEqual([]);
    expect(found.filter((file) => /account\/password\.ts|@node-rs/.test(file))).toEqual([]);
  });

  it("leaves to the runtime only the SDK clients it provides; presigners and PGlite only behind a dynamic import", () => {
    const { metafile } = bundle(name);
    const allowed = new Set<string>([...RUNTIME_PROVIDED_SDK, ...PRESIGNERS, ...OFFLINE_ONLY]);
    expect(externalImports(metafile).filter((specifier) => !allowed.has(specifier))).toEqual([]);
    // A cold start (the entry and its static chunks) imports none of them statically: the
    // offline storage adapter that verifies signed links, say, is itself loaded dynamically.
    const lazyOnly = new Set<string>([...PRESIGNERS, ...OFFLINE_ONLY]);
    const atColdStart = staticClosure(metafile, bundle(name).entry).flatMap((file) =>
      (metafile.outputs[file]?.imports ?? [])
        .filter((imported) => imported.external && imported.kind === "import-statement")
        .map((imported) => imported.path),
    );
    expect(atColdStart.filter((specifier) => lazyOnly.has(specifier))).toEqual([]);
  });

  it("imports no CommonJS module dynamically (its split chunk would export only a default)", () => {
    // db/rds-ca.ts and storage/s3-presign.ts import such packages statically instead; before,
    // the RDS CA list came back undefined and `rds` trusted no RDS authority.
    expect(dynamicallyImportedCommonJs(bundle(name).metafile)).toEqual([]);
  });

  it("loads the RDS CA list from its chunk by name, as db/client.ts does at the first `rds` connection", async () => {
    const { ca } = lazyWeights(bundle(name));
    if (!ca) throw new Error("no RDS CA chunk");
    const chunk = (await import(path.resolve(ca))) as { defaults?: string[] };
    expect(chunk.defaults?.length).toBeGreaterThan(50);
  });

  it("keeps a cold start's reading, and the code beside Sentry and the RDS CA bundle, under 450 KB", () => {
    const built = bundle(name);
    const { sentry, ca, caBytes, sdks } = lazyWeights(built);
    // The CA bundle ships inside (db/tls.test.ts checks every RDS root CA), in a chunk of its own.
    expect(ca, "the RDS CA bundle's chunk").toBeDefined();
    expect(sdks.length, "the error-reporting SDK chunks").toBeGreaterThan(0);
    expect(built.coldStartBytes).toBeLessThanOrEqual(BUDGET_BYTES);
    expect(built.bytes - sentry - caBytes).toBeLessThanOrEqual(BUDGET_BYTES);
    // Neither lazy part is read by a cold start without a DSN.
    const cold = staticClosure(built.metafile, built.entry);
    expect(cold.filter((file) => file === ca || sdks.includes(file))).toEqual([]);
  });
});

/** Imports a bundle in a new node process (as Lambda does), runs `script` on its exports. */
function runBundle(file: string, env: Record<string, string>, script: string) {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", `const m = await import(${JSON.stringify(file)});\n${script}`],
      {
        env: { PATH: process.env.PATH, LOG_LEVEL: "silent", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      err += chunk;
    });
    child.on("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(err))));
  });
}

describe("error reporting in the Lambdas", () => {
  // Nothing listens on port 1: the migration fails at once with ECONNREFUSED.
  const unreachable = {
    DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
    DATABASE_CONNECT_TIMEOUT_SECONDS: "1",
  };

  it("without a DSN, the SDK is not even loaded", async () => {
    const out = await runBundle(
      bundle("migrator").entry,
      unreachable,
      "console.log(JSON.stringify({ sentry: '__SENTRY__' in globalThis, handler: typeof m.handler }))",
    );
    expect(JSON.parse(out)).toEqual({ sentry: false, handler: "function" });
  });

  it("with a DSN, a cold start loads no SDK either: it is loaded with the first report", async () => {
    const out = await runBundle(
      bundle("worker").entry,
      { ...unreachable, SENTRY_DSN: "https://public@127.0.0.1:1/1" },
      "console.log(JSON.stringify({ sentry: '__SENTRY__' in globalThis, handler: typeof m.handler }))",
    );
    expect(JSON.parse(out)).toEqual({ sentry: false, handler: "function" });
  });

  it("with a DSN, what the handler throws reaches Sentry before the invocation fails", async () => {
    const sentry = await sentryServer();
    // The child reports the rejection and then waits: an event sent at exit would come too late.
    const out = await runBundle(
      bundle("migrator").entry,
      { ...unreachable, SENTRY_DSN: sentry.dsn },
      `const ctx = { awsRequestId: "req-1", functionName: "migrator", getRemainingTimeInMillis: () => 60000 };
       const error = await m.handler({}, ctx).then(() => undefined, (caught) => caught);
       console.log(JSON.stringify({ rejected: String(error?.cause?.code ?? error?.code ?? error) }));
       process.exit(0);`,
    );
    expect(JSON.parse(out).rejected).toMatch(/ECONNREFUSED/);
    expect(sentry.events).toHaveLength(1);
    expect(sentry.events[0]?.event.tags).toMatchObject({ requestId: "req-1" });
    // What was sent is the redacted error: no connection string.
    expect(sentry.events[0]?.raw).not.toContain("postgres://nobody");
  }, 30_000);
});

describe("metrics in the worker Lambda", () => {
  it("writes the batch's task metrics as EMF lines before the invocation returns (a frozen process flushes nothing)", async () => {
    // An unknown task fails before anything touches the database: one failed delivery.
    const event = {
      Records: [
        {
          messageId: "m-1",
          body: JSON.stringify({ task: "made.up", payload: {} }),
          attributes: { ApproximateReceiveCount: "1", SentTimestamp: String(Date.now() - 2000) },
        },
      ],
    };
    const out = await runBundle(
      bundle("worker").entry,
      {
        DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
        DATABASE_CONNECT_TIMEOUT_SECONDS: "1",
        LOG_LEVEL: "error",
      },
      `const ctx = { awsRequestId: "req-1", getRemainingTimeInMillis: () => 60000 };
       const result = await m.handler(${JSON.stringify(event)}, ctx);
       console.log(JSON.stringify({ result }));
       process.exit(0);`,
    );
    const lines = out.split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    const metrics = lines.filter((line) => "_aws" in line);
    expect(metrics).toHaveLength(1);
    const [document = {}] = metrics;
    expect(emfProblems(document)).toEqual([]);
    expect(document).toMatchObject({
      Task: "other",
      TaskFailures: 1,
      TaskDuration: { Count: 1 },
    });
    expect((document.TaskQueueAge as { Min: number }).Min).toBeGreaterThanOrEqual(2000);
    // Written before the handler returned: the result line comes after it.
    expect(lines.findIndex((line) => "result" in line)).toBeGreaterThan(lines.indexOf(document));
  }, 30_000);
});

// The same options the tasks.ts and database.ts Functions pass (a copy here would prove nothing).
it("infra passes these options to both Lambdas", () => {
  for (const file of ["infra/tasks.ts", "infra/database.ts"]) {
    expect(readFileSync(path.join(root, file), "utf8")).toContain("nodejs: lambdaNodejs,");
  }
});
