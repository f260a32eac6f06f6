import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import * as esbuild from "esbuild";
import { type NodejsProperties, sstEsbuildOptions } from "./function-bundle";
import type { WorkerContext } from "./input";

/** `Runtime.Build`'s input: one of the config's functions, as SST's Function component sends it. */
export interface FunctionBuild {
  functionID: string;
  handler: string;
  links?: Record<string, unknown>;
  copyFiles?: { from: string; to?: string }[];
  /** The Function's `runtime` (SST's component defaults it to nodejs24.x). */
  runtime?: string;
  /** The function's `nodejs` options; `install` maps each package to its version. */
  properties?: NodejsProperties & { architecture?: string };
}

/**
 * Really bundles the function's handler (`file.export`), as the CLI would, so a wrong handler
 * path, an import that does not resolve or a `nodejs` option the copy does not reproduce fails
 * the evaluation; errors go back to SST, which fails the Function.
 */
export async function buildFunction(context: WorkerContext, input: FunctionBuild) {
  const out = path.join(context.work, "artifacts", input.functionID);
  const dot = input.handler.lastIndexOf(".");
  const file = input.handler.slice(0, dot);
  const exported = input.handler.slice(dot + 1);
  const candidates = [".ts", ".mts", ".js", ".mjs"].map((ext) =>
    path.resolve(context.root, file + ext),
  );
  const found = candidates.find((candidate) => existsSync(candidate));
  // SST's own build (function-bundle.ts): the same externals, minification and chunks as a deploy.
  const runtime = input.runtime ?? "nodejs24.x";
  const build = (outDir: string) =>
    Promise.resolve()
      .then(() =>
        esbuild.build(
          sstEsbuildOptions({
            entry: found as string,
            outDir,
            runtime,
            properties: input.properties,
          }),
        ),
      )
      .catch((error: { errors?: { text: string }[] }) => ({
        errors: error.errors ?? [{ text: String(error) }],
      }));
  const result = !found
    ? { errors: [] }
    : context.functionBuilds
      ? await shared(
          context.functionBuilds,
          { entry: found, runtime, properties: input.properties },
          build,
          out,
        )
      : await build(out);
  const errors = result.errors.map((error) => error.text);
  if (!found) errors.push(`handler file not found: ${file}.{ts,js}`);
  for (const copy of input.copyFiles ?? []) {
    cpSync(
      path.resolve(context.root, copy.from),
      path.join(out, copy.to ?? path.basename(copy.from)),
      {
        recursive: true,
      },
    );
  }
  // SST names the bundle `bundle.mjs` whatever the handler file is called.
  return { handler: `bundle.${exported}`, out, errors, sourcemaps: [] };
}

/**
 * `build` into `out`, or a copy of the same build another evaluation of this run made: keyed by
 * everything the esbuild options are made of but the output directory. The first evaluation to
 * ask builds it (holding `<key>.lock`, its pid inside) while the others wait; a failed build is
 * not kept, so each evaluation then builds it itself and reports its own errors. The shared
 * copy sits as deep below the repository as `out` does, so the source maps' relative paths are
 * the same.
 */
async function shared(
  dir: string,
  key: Record<string, unknown>,
  build: (outDir: string) => Promise<{ errors: { text: string }[] }>,
  out: string,
): Promise<{ errors: { text: string }[] }> {
  const name = createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 32);
  const done = path.join(dir, "artifacts", name);
  const lock = `${done}.lock`;
  mkdirSync(path.dirname(done), { recursive: true });
  for (;;) {
    if (existsSync(done)) {
      cpSync(done, out, { recursive: true });
      return { errors: [] };
    }
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      // Another evaluation is building it, unless its process died holding the lock.
      if (!holderAlive(lock)) rmSync(lock, { force: true });
      else await sleep(50);
      continue;
    }
    try {
      // Built while this one waited: the holder renamed it and let go between the look above and
      // this lock (a second build would then rename onto it: ENOTEMPTY).
      if (existsSync(done)) continue;
      const temp = `${done}.${process.pid}`;
      const result = await build(temp);
      if (result.errors.length > 0) {
        rmSync(temp, { recursive: true, force: true });
        return result;
      }
      renameSync(temp, done);
    } finally {
      rmSync(lock, { force: true });
    }
  }
}

function holderAlive(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(lock, "utf8"));
  } catch {
    return true; // just removed, or not yet written: look again
  }
  if (!pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
