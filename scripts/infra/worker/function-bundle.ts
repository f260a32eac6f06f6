import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import * as esbuild from "esbuild";

/**
 * How the SST CLI bundles a Node.js Function for a deploy, as esbuild options: a copy of
 * `pkg/runtime/node/build.go` in SST 4.17 (the version scripts/infra/worker/sst-version.ts
 * pins). The infra evaluator builds every Function with it, and the worker-bundle bench and the
 * bundle tests build the Lambdas with it from the `nodejs` options infra/bundling.ts gives them,
 * so a size or an import measured here is the deployed one.
 */

/** A Function's `nodejs` options, as SST's component hands them to `Runtime.Build`. */
export interface NodejsProperties {
  /** Packages left out of the bundle and npm-installed beside it. */
  install?: Record<string, string> | string[];
  esbuild?: {
    external?: string[];
    keepNames?: boolean;
    target?: string;
    mainFields?: string[];
    conditions?: string[];
    define?: Record<string, string>;
  };
  /** SST's docs say the default is true; its CLI minifies only when this is set. */
  minify?: boolean;
  splitting?: boolean;
  format?: "esm" | "cjs";
  banner?: string;
  sourcemap?: boolean;
}

/** What SST always leaves external (and installs when imported): native addons. */
const FORCE_EXTERNAL = ["sharp", "pg-native"];

/** The runtime's esbuild target when `esbuild.target` does not name one. */
const RUNTIME_TARGET: Record<string, string> = {
  "nodejs24.x": "es2024",
  "nodejs22.x": "es2023",
  "nodejs20.x": "es2023",
};

/** Options of SST's `nodejs` block that this copy does not reproduce: refused, never ignored. */
const UNSUPPORTED = ["loader", "plugins"] as const;

export function installedPackages(properties: NodejsProperties = {}): string[] {
  const { install } = properties;
  if (!install) return [];
  return Array.isArray(install) ? install : Object.keys(install);
}

export function sstEsbuildOptions(input: {
  entry: string;
  outDir: string;
  runtime: string;
  properties?: NodejsProperties;
}): esbuild.BuildOptions & { metafile: true } {
  const properties = input.properties ?? {};
  for (const key of UNSUPPORTED)
    if ((properties as Record<string, unknown>)[key] !== undefined)
      throw new Error(`function-bundle.ts does not reproduce SST's nodejs.${key}`);
  if (properties.format === "cjs")
    throw new Error("function-bundle.ts reproduces SST's ESM build only (nodejs.format)");
  const target = properties.esbuild?.target ?? RUNTIME_TARGET[input.runtime];
  if (!target) throw new Error(`no esbuild target known for runtime ${input.runtime}`);
  const bundle = path.join(input.outDir, "bundle.mjs");
  const minify = properties.minify === true;
  return {
    entryPoints: [input.entry],
    platform: "node",
    external: [
      ...FORCE_EXTERNAL,
      ...installedPackages(properties),
      ...(properties.esbuild?.external ?? []),
    ],
    keepNames: properties.esbuild?.keepNames ?? true,
    bundle: true,
    splitting: properties.splitting === true,
    metafile: true,
    ...(properties.splitting
      ? { outdir: input.outDir, outExtension: { ".js": ".mjs" }, entryNames: "bundle" }
      : { outfile: bundle }),
    // Linked source maps are written beside the bundle and left out of the zip (function.ts).
    sourcemap: "linked",
    write: true,
    format: "esm",
    target,
    mainFields: properties.esbuild?.mainFields ?? ["module", "main"],
    conditions: properties.esbuild?.conditions,
    define: properties.esbuild?.define,
    banner: {
      js: [
        `import { createRequire as topLevelCreateRequire } from 'module';`,
        `const require = topLevelCreateRequire(import.meta.url);`,
        `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
        `const __filename = topLevelFileUrlToPath(import.meta.url)`,
        `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
        properties.banner ?? "",
      ].join("\n"),
    },
    minifyWhitespace: minify,
    minifySyntax: minify,
    minifyIdentifiers: minify,
    logLevel: "silent",
  };
}

/**
 * The output files an import of `output` reads before its first line runs: it and the chunks it
 * imports statically, transitively. Chunks behind a dynamic import are left out.
 */
export function staticClosure(metafile: esbuild.Metafile, output: string): string[] {
  const outputs = metafile.outputs;
  const key = Object.keys(outputs).find((file) => path.resolve(file) === path.resolve(output));
  if (!key) throw new Error(`${output} is not an output of this build`);
  const loaded = new Set<string>();
  const visit = (file: string) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    for (const imported of outputs[file]?.imports ?? [])
      if (imported.kind === "import-statement" && !imported.external) visit(imported.path);
  };
  visit(key);
  return [...loaded];
}

/** What a cold start reads: the entry's static closure. */
export const coldStartFiles = staticClosure;

/** The output file a dynamic import of `source` (a path relative to the cwd) loads. */
export function outputOf(metafile: esbuild.Metafile, source: string): string | undefined {
  return Object.entries(metafile.outputs).find(
    ([, output]) =>
      output.entryPoint !== undefined && path.resolve(output.entryPoint) === path.resolve(source),
  )?.[0];
}

export const bytesOf = (metafile: esbuild.Metafile, files: Iterable<string>) =>
  [...new Set(files)].reduce((sum, file) => sum + (metafile.outputs[file]?.bytes ?? 0), 0);

export interface FunctionBundle {
  /** The handler's module (`bundle.mjs`) and the directory beside it. */
  entry: string;
  outDir: string;
  metafile: esbuild.Metafile;
  /** What the zip holds of the build: every file but the source maps. */
  files: { name: string; bytes: number }[];
  bytes: number;
  /** Bytes of the entry's own output file (chunks loaded later not included). */
  entryBytes: number;
  /** Bytes a cold start reads: the entry and its static chunks (coldStartFiles). */
  coldStartBytes: number;
}

/** Builds `entry` as SST would for `runtime` with `properties`, into `outDir`. */
export async function buildFunctionBundle(input: {
  entry: string;
  outDir: string;
  runtime: string;
  properties?: NodejsProperties;
}): Promise<FunctionBundle> {
  // A fresh directory: a chunk left from an earlier build would count as part of this one.
  rmSync(input.outDir, { recursive: true, force: true });
  const result = await esbuild.build(sstEsbuildOptions(input));
  const files = readdirSync(input.outDir)
    .filter((name) => !name.endsWith(".map"))
    .map((name) => ({ name, bytes: statSync(path.join(input.outDir, name)).size }));
  const entry = path.join(input.outDir, "bundle.mjs");
  if (!existsSync(entry)) throw new Error(`esbuild wrote no bundle.mjs in ${input.outDir}`);
  return {
    entry,
    outDir: input.outDir,
    metafile: result.metafile,
    files,
    bytes: files.reduce((sum, file) => sum + file.bytes, 0),
    entryBytes: statSync(entry).size,
    coldStartBytes: bytesOf(result.metafile, staticClosure(result.metafile, entry)),
  };
}

/** The packages (node_modules names) whose files went into a bundle, with their bytes in it. */
export function bundledPackages(metafile: esbuild.Metafile): Map<string, number> {
  const bytes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs))
    for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
      const name = match?.[1] ?? "(app)";
      bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
    }
  return bytes;
}

/** The imports a bundle leaves to the runtime (package names, subpaths included). */
export function externalImports(metafile: esbuild.Metafile): string[] {
  const found = new Set<string>();
  for (const input of Object.values(metafile.inputs))
    for (const imported of input.imports)
      if (imported.external && !isBuiltin(imported.path) && imported.path !== "<runtime>")
        found.add(imported.path);
  return [...found].sort();
}

const builtins = new Set(builtinModules);
const isBuiltin = (specifier: string) =>
  specifier.startsWith("node:") || builtins.has(specifier.split("/")[0] ?? specifier);

/**
 * The CommonJS modules a split build loads with a dynamic import. esbuild makes each its own
 * chunk exporting only `default`, so `const { name } = await import("cjs-package")` gets
 * undefined there (unsplit, or in Node itself, it gets the named export). Such an import must go
 * through an ESM module that imports the package statically.
 */
export function dynamicallyImportedCommonJs(
  metafile: esbuild.Metafile,
  importers: (file: string) => boolean = () => true,
): string[] {
  const found = new Set<string>();
  for (const [file, input] of Object.entries(metafile.inputs))
    for (const imported of input.imports)
      if (
        imported.kind === "dynamic-import" &&
        metafile.inputs[imported.path]?.format === "cjs" &&
        importers(file)
      )
        found.add(`${file} -> ${imported.path}`);
  return [...found].sort();
}
