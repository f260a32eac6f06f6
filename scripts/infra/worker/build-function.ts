import { cpSync, existsSync } from "node:fs";
import path from "node:path";
import * as esbuild from "esbuild";
import type { WorkerContext } from "./input";

/** `Runtime.Build`'s input: one of the config's functions, as SST's Function component sends it. */
export interface FunctionBuild {
  functionID: string;
  handler: string;
  links?: Record<string, unknown>;
  copyFiles?: { from: string; to?: string }[];
  /** The function's `nodejs` options; `install` maps each package to its version. */
  properties?: { architecture?: string; format?: string; install?: Record<string, string> };
}

/**
 * Really bundles the function's handler (`file.export`), as the CLI would, so a wrong handler
 * path or an import that does not resolve fails the evaluation; errors go back to SST, which
 * fails the Function.
 */
export async function buildFunction(context: WorkerContext, input: FunctionBuild) {
  const out = path.join(context.work, "artifacts", input.functionID);
  const dot = input.handler.lastIndexOf(".");
  const file = input.handler.slice(0, dot);
  const exported = input.handler.slice(dot + 1);
  const candidates = [".ts", ".mts", ".js", ".mjs"].map((ext) =>
    path.resolve(context.root, file + ext),
  );
  const result = await esbuild
    .build({
      entryPoints: candidates.filter((candidate) => existsSync(candidate)).slice(0, 1),
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node22",
      outfile: path.join(out, `${path.basename(file)}.mjs`),
      // `nodejs.install` packages stay out of the bundle (the CLI then npm-installs them for the
      // function's architecture; offline, they are only left external).
      external: Object.keys(input.properties?.install ?? {}),
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      logLevel: "silent",
    })
    .catch((error: { errors?: { text: string }[] }) => ({
      errors: error.errors ?? [{ text: String(error) }],
    }));
  const errors = result.errors.map((error) => error.text);
  if (candidates.every((candidate) => !existsSync(candidate))) {
    errors.push(`handler file not found: ${file}.{ts,js}`);
  }
  for (const copy of input.copyFiles ?? []) {
    cpSync(
      path.resolve(context.root, copy.from),
      path.join(out, copy.to ?? path.basename(copy.from)),
      {
        recursive: true,
      },
    );
  }
  return { handler: `${path.basename(file)}.${exported}`, out, errors, sourcemaps: [] };
}
