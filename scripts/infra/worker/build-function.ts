import { cpSync, existsSync } from "node:fs";
import path from "node:path";
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
  const result = found
    ? await Promise.resolve()
        .then(() =>
          esbuild.build(
            sstEsbuildOptions({
              entry: found,
              outDir: out,
              runtime: input.runtime ?? "nodejs24.x",
              properties: input.properties,
            }),
          ),
        )
        .catch((error: { errors?: { text: string }[] }) => ({
          errors: error.errors ?? [{ text: String(error) }],
        }))
    : { errors: [] };
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
