import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import type { Socket } from "node:net";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import type { WorkerInput } from "./worker/input";
import type { EvaluatedResource } from "./worker/resources";

export type { EvaluatedResource };

export interface Evaluation {
  app: { name: string; stage: string; removal: string; protect: boolean };
  resources: EvaluatedResource[];
  outputs: Record<string, unknown>;
  /** The SST links each function is built with, by component name (no resource input shows them). */
  functionLinks: Record<string, string[]>;
  /** The stage variables (`SLIPWAY_*`) the evaluation ran with. */
  variables: Record<string, string>;
  /** The worker process that ran it. */
  worker?: RanBy;
}

/** A worker process, and how many evaluations it had run before the one in question. */
export interface RanBy {
  pid: number;
  earlier: number;
}

export interface EvaluateOptions {
  stage: string;
  /** Evaluate as `sst dev` does (`$dev` true). */
  dev?: boolean;
  /** The config to evaluate, relative to `root` (a test passes a mutated copy). */
  config?: string;
  root?: string;
  /** `sst secret set` values, as the CLI passes them (SST_SECRET_<Name>). */
  secrets?: Record<string, string>;
  /**
   * The stage variables (`SLIPWAY_*`, infra/stage.ts) the deploy runs with. Given, they replace
   * every `SLIPWAY_*` of this process's environment (a test evaluates exactly what it names);
   * unset, the evaluation sees this process's, as `sst deploy` would.
   */
  variables?: Record<string, string>;
  /**
   * The SSM parameters the account holds (name -> value); none unless given. infra/api.ts reads
   * a stage's scaling override from there (ADR 032).
   */
  ssmParameters?: Record<string, string>;
}

/** The environment an evaluation runs in: this process's, with the stage variables given. */
function evaluationEnv(variables?: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    SST_TELEMETRY_DISABLED: "1",
  };
  if (!variables) return env;
  for (const name of Object.keys(env)) if (name.startsWith("SLIPWAY_")) delete env[name];
  return { ...env, ...variables };
}

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const cacheDir = path.join(repoRoot, "node_modules", ".cache", "slipway");

let workerScript: string | undefined;

/**
 * The evaluation worker as one plain JavaScript file, run by plain node: under tsx's loader
 * every one of the thousands of modules Pulumi and SST load went through its hooks, and its
 * source maps made each of the stack traces Pulumi captures cost more (~1.5 of ~9 CPU-s an
 * evaluation). Bundled once per process (~50 ms), named by its content, so a changed worker is
 * another file and processes running the same one share it. Beside node_modules/, where its
 * one package import (esbuild) resolves.
 */
function workerBundle(): string {
  if (workerScript && existsSync(workerScript)) return workerScript;
  const built = esbuild.buildSync({
    entryPoints: [fileURLToPath(new URL("./evaluate-worker.ts", import.meta.url))],
    bundle: true,
    platform: "node",
    format: "esm",
    target: `node${process.versions.node.split(".")[0]}`,
    packages: "external",
    write: false,
    logLevel: "silent",
  });
  const code = built.outputFiles[0]?.contents;
  if (!code) throw new Error("bundling scripts/infra/evaluate-worker.ts wrote nothing");
  const hash = createHash("sha256").update(code).digest("hex").slice(0, 16);
  const file = path.join(cacheDir, `evaluate-worker-${hash}.mjs`);
  if (!existsSync(file)) {
    mkdirSync(cacheDir, { recursive: true });
    // Whole or absent: another process may be writing the same file at the same moment.
    const temp = `${file}.${process.pid}`;
    writeFileSync(temp, code);
    renameSync(temp, file);
  }
  workerScript = file;
  return file;
}

const builds = new Map<string, string>();

/**
 * Where the evaluations this process runs share their Lambda bundles (worker/build-function.ts):
 * the same handler with the same options is built once, not once per stage (~4 CPU-s of esbuild
 * each; the graph test's evaluations built the same two Lambdas each time). Removed when this
 * process exits normally; a killed one's (a test runner ends its workers so) is swept by the next
 * evaluation, with the bundled configs it left. So a bundle is reused only within one process.
 */
function functionBuilds(root: string): string {
  const dir = builds.get(root);
  if (dir) return dir;
  const parent = path.join(root, ".sst", "eval");
  for (const name of existsSync(parent) ? readdirSync(parent) : []) {
    const pid = /^builds-(\d+)$/.exec(name)?.[1];
    if (pid && !alive(Number(pid)))
      rmSync(path.join(parent, name), { recursive: true, force: true });
  }
  // And the bundled configs of evaluation workers that were killed (worker/bundle-config.ts
  // names them by pid; a worker deletes its own): ~1 MB each.
  const platform = path.join(root, ".sst", "platform");
  for (const name of existsSync(platform) ? readdirSync(platform) : []) {
    const pid = /^(eval|app)\..+\.(\d+)\.mjs$/.exec(name)?.[2];
    if (pid && !alive(Number(pid))) rmSync(path.join(platform, name), { force: true });
  }
  const created = path.join(parent, `builds-${process.pid}`);
  builds.set(root, created);
  process.once("exit", () => rmSync(created, { recursive: true, force: true }));
  return created;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * SST's StaticSite reads the site's build output while it is evaluated (to upload and hash the
 * files), though its build command is mocked. Builds it once if missing; call before evaluating
 * (not inside `evaluate`, which may run several times side by side).
 */
export function ensureSiteBuilt(root = repoRoot) {
  if (existsSync(path.join(root, "packages/web/dist/index.html"))) return;
  const result = spawnSync("npm", ["run", "build", "-w", "@slipway/web"], {
    cwd: root,
    stdio: "inherit",
  });
  if (result.status !== 0) throw new Error("building packages/web failed");
}

/**
 * Evaluates the SST app for a stage with SST's real components under Pulumi's mocks, offline,
 * and returns every resource it declares with its inputs. The evaluations run in worker
 * processes (evaluate-worker.ts), one at a time in each, as many workers as cores.
 */
export function evaluate(options: EvaluateOptions): Promise<Evaluation> {
  const input: WorkerInput = {
    root: options.root ?? repoRoot,
    config: options.config ?? "sst.config.ts",
    stage: options.stage,
    dev: options.dev ?? false,
    secrets: options.secrets ?? {},
    ssmParameters: options.ssmParameters,
  };
  const env = evaluationEnv(options.variables);
  const variables = Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => entry[0].startsWith("SLIPWAY_") && !!entry[1],
    ),
  );
  return new Promise((resolve, reject) => {
    poolFor(input.root).run({ input, env, resolve, reject, variables });
  });
}

interface QueuedEvaluation {
  input: WorkerInput;
  env: NodeJS.ProcessEnv;
  variables: Record<string, string>;
  resolve(evaluation: Evaluation): void;
  reject(error: Error): void;
}

/**
 * A worker serves this many evaluations, then a new one takes over: each leaves its bundled
 * program in the module cache, which no one can unload (~40 MB of the worker's memory each,
 * measured). More than graph.test's batch plus its two after it, which its isolation check
 * needs to run in one worker even on a single core.
 */
const JOBS_PER_WORKER = 16;

const pools = new Map<string, WorkerPool>();

function poolFor(root: string): WorkerPool {
  let pool = pools.get(root);
  if (!pool) {
    pool = new WorkerPool(root, Math.max(1, availableParallelism()));
    pools.set(root, pool);
  }
  return pool;
}

interface Worker {
  child: ChildProcess;
  jobs: number;
  /** Its stdout and stderr since the current evaluation began: a failure's message. */
  log: string;
  current?: QueuedEvaluation;
  retired?: boolean;
}

/**
 * Evaluations queue for the pool's workers. An idle worker holds nothing open in this process
 * (its pipes and channel unref'd), so a CLI exits when its evaluations are done, and the worker
 * with it (it ends when its channel closes).
 */
class WorkerPool {
  readonly #queue: QueuedEvaluation[] = [];
  readonly #idle: Worker[] = [];
  #workers = 0;
  #jobs = 0;

  constructor(
    readonly root: string,
    readonly size: number,
  ) {}

  run(evaluation: QueuedEvaluation) {
    this.#queue.push(evaluation);
    this.#dispatch();
  }

  #dispatch() {
    while (this.#queue.length > 0) {
      const worker = this.#idle.pop() ?? (this.#workers < this.size ? this.#spawn() : undefined);
      if (!worker) return;
      this.#start(worker, this.#queue.shift() as QueuedEvaluation);
    }
  }

  #spawn(): Worker {
    this.#workers++;
    const child = spawn(process.execPath, [workerBundle()], {
      cwd: this.root,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: evaluationEnv(),
    });
    const worker: Worker = { child, jobs: 0, log: "" };
    const collect = (chunk: Buffer) => {
      worker.log += chunk;
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    child.on("message", (message: WorkerAnswer) => {
      const current = worker.current;
      if (!current) return;
      worker.current = undefined;
      const ran: RanBy = { pid: child.pid ?? 0, earlier: worker.jobs - 1 };
      if ("error" in message)
        current.reject(failure(current.input, message.error, worker.log, ran));
      else current.resolve({ ...message.evaluation, variables: current.variables, worker: ran });
      if (worker.jobs < JOBS_PER_WORKER) this.#release(worker);
      else {
        this.#retire(worker);
        child.disconnect();
      }
      this.#dispatch();
    });
    child.on("error", (error) => this.#ended(worker, error.message));
    child.on("close", (code, signal) => this.#ended(worker, `exit ${code ?? signal}`));
    return worker;
  }

  #start(worker: Worker, evaluation: QueuedEvaluation) {
    worker.jobs++;
    worker.log = "";
    worker.current = evaluation;
    setHeld(worker.child, true);
    worker.child.send({
      job: ++this.#jobs,
      input: { ...evaluation.input, functionBuilds: functionBuilds(this.root) },
      env: evaluation.env,
    });
  }

  #release(worker: Worker) {
    setHeld(worker.child, false);
    this.#idle.push(worker);
  }

  /** A worker that ended: the evaluation it was running (if any) fails with its output. */
  #ended(worker: Worker, how: string) {
    if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill();
    this.#retire(worker);
    const current = worker.current;
    worker.current = undefined;
    if (current) current.reject(failure(current.input, `the worker ended (${how})`, worker.log));
    this.#dispatch();
  }

  /** No more evaluations for `worker`: the next that needs one spawns another. */
  #retire(worker: Worker) {
    if (worker.retired) return;
    worker.retired = true;
    this.#workers--;
    const index = this.#idle.indexOf(worker);
    if (index >= 0) this.#idle.splice(index, 1);
  }
}

/** What a worker answers an evaluation with. */
type WorkerAnswer = { evaluation: Omit<Evaluation, "variables" | "worker"> } | { error: string };

/** A failed evaluation: what failed and why, with what the worker printed meanwhile. */
export class EvaluationError extends Error {
  constructor(
    message: string,
    /** The worker that ran it, when it answered (unset if the worker itself ended). */
    readonly worker?: RanBy,
  ) {
    super(message);
    this.name = "EvaluationError";
  }
}

function failure(input: WorkerInput, error: string, log: string, worker?: RanBy): EvaluationError {
  const where = `${path.join(input.root, input.config)} (stage ${input.stage})`;
  return new EvaluationError(
    `evaluating ${where} failed:\n${error}${log ? `\n${log}` : ""}`,
    worker,
  );
}

/** Whether the worker keeps this process alive: while it runs an evaluation, not when idle. */
function setHeld(child: ChildProcess, held: boolean) {
  // The pipes are sockets (stdio "pipe"), which Readable's type does not say.
  const pipes = [child.stdout, child.stderr] as (Socket | null)[];
  for (const handle of [child, child.channel, ...pipes])
    if (held) handle?.ref();
    else handle?.unref();
}

export interface ConfigEdit {
  file: string;
  from: string;
  to: string;
}

/**
 * A copy of `sst.config.ts` + `infra/` with `edits` applied, for evaluating a variant of the
 * design (a test's deliberate breakage, the cost tool's alternatives). Each edit must change its
 * file, so a variant that no longer applies fails loudly. Returns the config path for `evaluate`.
 */
export function copyConfig(id: string, edits: ConfigEdit[], root = repoRoot): string {
  const dir = path.join(root, "node_modules", ".cache", "slipway", `config-${id}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(path.join(root, "sst.config.ts"), path.join(dir, "sst.config.ts"));
  cpSync(path.join(root, "infra"), path.join(dir, "infra"), { recursive: true });
  // infra/tasks.ts reads the app's schedule list from packages/.
  symlinkSync(path.join(root, "packages"), path.join(dir, "packages"));
  for (const edit of edits) {
    const file = path.join(dir, edit.file);
    const source = readFileSync(file, "utf8");
    if (!source.includes(edit.from))
      throw new Error(`${edit.file} no longer contains: ${edit.from}`);
    writeFileSync(file, source.replace(edit.from, edit.to));
  }
  return path.relative(root, path.join(dir, "sst.config.ts"));
}

/** Whether an evaluated ECS service places tasks on Fargate Spot (a capacity strategy with weight). */
export function usesFargateSpot(service: EvaluatedResource): boolean {
  const strategies =
    (service.inputs.capacityProviderStrategies as
      | { capacityProvider: string; weight: number }[]
      | undefined) ?? [];
  return strategies.some((s) => s.capacityProvider === "FARGATE_SPOT" && s.weight > 0);
}
