import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  watch,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import type { Metafile } from "esbuild";
import { inject } from "vitest";
import { repoRoot } from "../src/config";

declare module "vitest" {
  export interface ProvidedContext {
    /** This run's name for its one server build (server-build.ts). */
    serverBuildId: string;
  }
}

/**
 * Where the builds go: three levels below the repo, as dist/server.mjs is, so the bundle finds
 * the repo (config.ts's repoRoot: the migrations) and node_modules (the Argon2 addon) alike.
 * Gitignored and outside the image's context, like dist/.
 */
export const serverBuildsDir = path.join(repoRoot, ".data", "test-builds");

export interface ServerBuild {
  /** The build's output directory, as the image's dist/ (server.mjs, its chunks and maps). */
  dist: string;
  entry: string;
  metafile: Metafile;
}

let mine: Promise<ServerBuild> | undefined;

/**
 * The API container's bundle, built once per test run by its npm script (`npm run build:server`,
 * what the Dockerfile runs, with only the output moved and a metafile written), for every test
 * file that reads or runs it; each built it on its own before (~2 s a build). Files run in
 * separate processes: the first to ask builds it under the run's id (global-setup.ts), the
 * others wait for it to appear. Read-only: a test that adds files beside it copies it first.
 */
export function serverBuild(): Promise<ServerBuild> {
  mine ??= (async () => {
    let id = "";
    try {
      id = inject("serverBuildId");
    } catch {
      // Without the global setup (a single file under another config): a build of its own.
    }
    id ||= `alone-${process.pid}`;
    mkdirSync(serverBuildsDir, { recursive: true });
    const at = (suffix: string) => path.join(serverBuildsDir, `${id}${suffix}`);
    let builder = false;
    try {
      closeSync(openSync(at(".lock"), "wx"));
      builder = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    if (builder) await build(at);
    else await appeared(serverBuildsDir, [at(".done"), at(".failed.txt")]);
    if (existsSync(at(".failed.txt"))) {
      throw new Error(`npm run build:server failed:\n${readFileSync(at(".failed.txt"), "utf8")}`);
    }
    return {
      dist: at(""),
      entry: path.join(at(""), "server.mjs"),
      metafile: JSON.parse(readFileSync(at(".meta.json"), "utf8")) as Metafile,
    };
  })();
  return mine;
}

async function build(at: (suffix: string) => string) {
  // Into its final place (the metafile names its outputs by path); `.done` says it is whole.
  const work = at("");
  const child = spawn(
    "npm",
    [
      "run",
      "build:server",
      "-w",
      "@slipway/core",
      "--",
      `--outfile=${path.join(work, "server.mjs")}`,
      `--metafile=${at(".meta.json")}`,
    ],
    { cwd: repoRoot, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code === 0) writeFileSync(at(".done"), "");
  else writeFileSync(at(".failed.txt"), `exit ${code}\n${stderr}`);
}

/** Resolves once one of `files` exists in `dir` (watched: no polling). */
function appeared(dir: string, files: string[]): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(dir, () => check());
    const check = () => {
      if (!files.some((file) => existsSync(file))) return;
      watcher.close();
      resolve();
    };
    // It may have appeared before the watch began.
    check();
  });
}
