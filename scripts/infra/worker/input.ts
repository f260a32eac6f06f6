import path from "node:path";

/** One evaluation `evaluate()` asks a worker for (its IPC message's `input`). */
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
  /**
   * `<job>.<pid>`, in the name of everything this evaluation writes: evaluations of the same
   * stage run side by side in other workers, and one after another in this one (where a bundle
   * of the same name would be the module already imported, not the new one).
   */
  tag: string;
}

export function workerContext(input: WorkerInput, job: number): WorkerContext {
  const tag = `${job}.${process.pid}`;
  return {
    ...input,
    platform: path.join(input.root, ".sst", "platform"),
    work: path.join(input.root, ".sst", "eval", `${input.stage}${input.dev ? "-dev" : ""}-${tag}`),
    tag,
  };
}
