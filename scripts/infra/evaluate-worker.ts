import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { bundleProgram, loadApp } from "./worker/bundle-config";
import { type WorkerInput, workerContext } from "./worker/input";
import { installMocks } from "./worker/mocks";
import { ResourceLog } from "./worker/resources";
import { startRpcServer } from "./worker/rpc-server";
import { unwrapSecrets } from "./worker/secrets";
import { assertEvaluatorSupportsSst, installedSstVersion } from "./worker/sst-version";

/**
 * Runs `sst.config.ts` the way the SST CLI does (pkg/project/run.go + pkg/js/js.go in the SST
 * repository), but with Pulumi's mock runtime instead of a deployment engine:
 *  1. `app({ stage })` gives `$app`;
 *  2. esbuild bundles the config with `$app`/`$cli`/`$dev` defined, SST's shim injected
 *     (`$output`, `$interpolate`, `$transform`, …) and the `sst`/`aws` namespaces imported, with
 *     `@pulumi/*` left external so the bundle and this worker share one Pulumi runtime;
 *  3. SST's `auto/run.ts` runs the config inside `runInPulumiStack`, under `setMocks`.
 * The CLI's JSON-RPC server is stood in for by a loopback one (worker/rpc-server.ts).
 * Input: argv[2] = JSON options (WorkerInput). Output: one JSON line (`{ resources, outputs,
 * app, functionLinks }`) on fd 3.
 */

const context = workerContext(JSON.parse(process.argv[2] ?? "{}") as WorkerInput);
// Everything below copies one SST version's CLI; another version must be re-checked first.
assertEvaluatorSupportsSst(installedSstVersion(context.platform));
mkdirSync(context.work, { recursive: true });

for (const [name, value] of Object.entries(context.secrets))
  process.env[`SST_SECRET_${name}`] = value;

const rpc = await startRpcServer(context);
process.env.SST_SERVER = rpc.url;

const app = await loadApp(context);
const programFile = await bundleProgram(context, app);

// The platform's Pulumi: the one the bundle's external `@pulumi/*` imports resolve to.
const pulumi = (await import(
  pathToFileURL(path.join(context.platform, "node_modules/@pulumi/pulumi/index.js")).href
)) as typeof import("@pulumi/pulumi");

const log = new ResourceLog();
await installMocks(pulumi, log, app.name as string, context.stage, context.ssmParameters);

const program = (await import(pathToFileURL(programFile).href)) as {
  evaluate(): Promise<Record<string, unknown>>;
};

let outputs: Record<string, unknown> = {};
try {
  await pulumi.runtime.runInPulumiStack(async () => {
    log.recordParentsAndDependsOn(pulumi);
    outputs = (await program.evaluate()) ?? {};
    return outputs;
  });
  // Waits until every resource registration has reached the mocks.
  await pulumi.runtime.disconnect();
  await log.settled();
} finally {
  rmSync(programFile, { force: true });
  rmSync(context.work, { recursive: true, force: true });
  rpc.close();
}

const resolvedOutputs = await new Promise<Record<string, unknown>>((resolve) => {
  pulumi.output(outputs).apply((value) => resolve(value as Record<string, unknown>));
});

const resources = log.all().map((resource) => ({
  ...resource,
  inputs: unwrapSecrets(resource.inputs),
}));
writeFileSync(
  3,
  `${JSON.stringify({
    resources,
    outputs: unwrapSecrets(resolvedOutputs),
    app,
    functionLinks: rpc.functionLinks,
  })}\n`,
);
process.exit(0);
