import path from "node:path";

/** What `evaluate()` passes the worker: argv[2], as JSON. */
export interface WorkerInput {
  root: string;
  /** The config to evaluate, relative to `root`. */
  config: string;
  stage: string;
  dev: boolean;
  /** `sst secret set` values, by secret name. */
  secrets: Record<string, string>;
  /**
   * A directory the evaluations started by one process share their function bundles in
   * (build-function.ts); unset, each evaluation builds its own.
   */
  functionBuilds?: string;
  /** The SSM parameters the mock account holds (name -> value), for the lookups infra/ makes. */
  ssmParameters?: Record<string, string>;
}

/** One evaluation's input and the directories it reads and writes. */
export interface WorkerContext extends WorkerInput {
  /** SST's platform as `sst install` extracted it (components, shim, `auto/run.ts`). */
  platform: string;
  /** Scratch space for this evaluation's bundles and function builds; removed at the end. */
  work: string;
}

export function workerContext(input: WorkerInput): WorkerContext {
  return {
    ...input,
    platform: path.join(input.root, ".sst", "platform"),
    // Per process: evaluations of the same stage may run side by side.
    work: path.join(
      input.root,
      ".sst",
      "eval",
      `${input.stage}${input.dev ? "-dev" : ""}-${process.pid}`,
    ),
  };
}
