import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { inspect } from "node:util";
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
 *
 * One worker runs evaluations one after another (`evaluate.ts` sends each as an IPC message
 * `{ job, input, env }` and gets `{ job, evaluation }` back): loading Pulumi, its providers and
 * the inspector its closure serializer enables was ~2 of an evaluation's ~6.5 CPU-s when each
 * had a process of its own. What an evaluation could leave behind is made anew for each: Pulumi's
 * state is a fresh store (`withLocalStorage`, as Pulumi's automation API runs each inline program),
 * SST's components come with the freshly bundled program, and the environment is the job's.
 * A failed evaluation is answered `{ job, error }` once its own code has finished (below), and
 * the worker goes on; one that does not finish within 2 s ends it.
 */

interface Job {
  job: number;
  input: WorkerInput;
  /** The whole environment the evaluation sees (the stage variables, the caller's own). */
  env: Record<string, string>;
}

interface PulumiState {
  withLocalStorage<T>(callback: () => Promise<T>): Promise<T>;
}

function useEnvironment(env: Record<string, string>) {
  for (const name of Object.keys(process.env)) if (!(name in env)) delete process.env[name];
  Object.assign(process.env, env);
}

async function evaluateJob({ job, input, env }: Job) {
  const context = workerContext(input, job);
  // Everything below copies one SST version's CLI; another version must be re-checked first.
  assertEvaluatorSupportsSst(installedSstVersion(context.platform));
  mkdirSync(context.work, { recursive: true });

  useEnvironment(env);
  for (const [name, value] of Object.entries(context.secrets))
    process.env[`SST_SECRET_${name}`] = value;
  const rpc = await startRpcServer(context);
  process.env.SST_SERVER = rpc.url;

  // The platform's Pulumi: the one the bundle's external `@pulumi/*` imports resolve to.
  const pulumiDir = path.join(context.platform, "node_modules/@pulumi/pulumi");
  const pulumi = (await import(
    pathToFileURL(path.join(pulumiDir, "index.js")).href
  )) as typeof import("@pulumi/pulumi");
  const state = (await import(
    pathToFileURL(path.join(pulumiDir, "runtime/state.js")).href
  )) as PulumiState;

  let programFile: string | undefined;
  try {
    const app = await loadApp(context);
    programFile = await bundleProgram(context, app);
    const program = programFile;
    return await state.withLocalStorage(async () => {
      const log = new ResourceLog();
      await installMocks(pulumi, log, app.name as string, context.stage, context.ssmParameters);
      const { evaluate } = (await import(pathToFileURL(program).href)) as {
        evaluate(): Promise<Record<string, unknown>>;
      };
      let outputs: Record<string, unknown> = {};
      await pulumi.runtime.runInPulumiStack(async () => {
        log.recordParentsAndDependsOn(pulumi);
        outputs = (await evaluate()) ?? {};
        return outputs;
      });
      // Waits until every resource registration has reached the mocks.
      await pulumi.runtime.disconnect();
      await log.settled();
      const resolved = await new Promise<Record<string, unknown>>((resolve) => {
        pulumi.output(outputs).apply((value) => resolve(value as Record<string, unknown>));
      });
      return {
        resources: log.all().map((resource) => ({
          ...resource,
          inputs: unwrapSecrets(resource.inputs),
        })),
        outputs: unwrapSecrets(resolved),
        app,
        functionLinks: rpc.functionLinks,
      };
    });
  } finally {
    if (programFile) rmSync(programFile, { force: true });
    rmSync(context.work, { recursive: true, force: true });
    rpc.close();
  }
}

// Jobs come one at a time (evaluate.ts sends the next after the answer); the parent going away
// ends the worker.
process.on("disconnect", () => process.exit(0));

/** The evaluation running now: its failure, however it surfaces, is answered once. */
let current: { failed(error: unknown): void } | undefined;

/** Errors already answered: Pulumi's promise chains carry one error out more than once. */
const answeredErrors = new WeakSet<object>();

// A config that throws (a refused stage variable) does so inside Pulumi's callbacks, where it
// surfaces as an uncaught exception as well as the evaluation's rejection, in either order, and
// again after it.
const uncaught = (error: unknown) => {
  if (typeof error === "object" && error !== null && answeredErrors.has(error)) return;
  if (current) current.failed(error);
  else {
    process.stderr.write(`${inspect(error)}\n`);
    process.exit(1);
  }
};
process.on("uncaughtException", uncaught);
process.on("unhandledRejection", uncaught);

process.on("message", (message: Job) => {
  let answered = false;
  const running = evaluateJob(message);
  const settled = running.then(
    () => undefined,
    () => undefined,
  );
  current = {
    failed(error) {
      if (typeof error === "object" && error !== null) answeredErrors.add(error);
      if (answered) return;
      answered = true;
      // The next evaluation only once this one's own code has finished (its files and its RPC
      // server gone); if it never does, this worker is done: it exits, and the pool starts another.
      const quiet = setTimeout(() => {
        process.stderr.write(`${inspect(error)}\n`);
        process.exit(1);
      }, 2_000);
      void settled.then(() => {
        clearTimeout(quiet);
        current = undefined;
        process.send?.({ job: message.job, error: inspect(error) });
      });
    },
  };
  running.then(
    (evaluation) => {
      if (answered) return;
      answered = true;
      current = undefined;
      process.send?.({ job: message.job, evaluation });
    },
    (error: unknown) => current?.failed(error),
  );
});
