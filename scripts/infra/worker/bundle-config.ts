import { rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { type AppGlobal, appGlobal, globalDefines, providerNamespaces, shimFile } from "./globals";
import type { WorkerContext } from "./input";

/**
 * The CLI's two builds of `sst.config.ts` (pkg/project/run.go, pkg/js/js.go in the SST
 * repository): one to call `app()`, then the program that runs `run()` with every global.
 */

/**
 * `$app`: bundles the config and calls its `app({ stage })`. The bundle is written inside the
 * platform, as the CLI writes it, so that an infra file's `@pulumi/*` import resolves there.
 */
export async function loadApp(context: WorkerContext): Promise<AppGlobal> {
  const appBundle = path.join(
    context.platform,
    `app.${context.stage}${context.dev ? ".dev" : ""}.${context.tag}.mjs`,
  );
  // app() runs before any global exists, as in the CLI; $config is the identity.
  await esbuild.build({
    entryPoints: [path.join(context.root, context.config)],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: appBundle,
    packages: "external",
    logLevel: "silent",
  });
  (globalThis as { $config?: unknown }).$config = (config: unknown) => config;
  try {
    const appConfig = (
      (await import(pathToFileURL(appBundle).href)) as {
        default: { app(input: { stage: string }): Record<string, unknown> };
      }
    ).default.app({ stage: context.stage });
    return appGlobal(appConfig, context.stage);
  } finally {
    rmSync(appBundle, { force: true });
  }
}

/**
 * Bundles the config's `run()` with SST's `auto/run.ts` into a module exporting `evaluate()`, and
 * returns its path. It is written inside the platform so that SST's own imports resolve there.
 * `@pulumi/*` stays external: the bundle must share the worker's Pulumi runtime (and its mocks).
 */
export async function bundleProgram(context: WorkerContext, app: AppGlobal): Promise<string> {
  const { platform, root, config } = context;
  const programFile = path.join(
    platform,
    `eval.${context.stage}${context.dev ? ".dev" : ""}.${context.tag}.mjs`,
  );
  await esbuild.build({
    stdin: {
      contents: [
        `import { run } from "${path.join(platform, "src/auto/run.ts")}";`,
        `import mod from "${path.join(root, config)}";`,
        "export const evaluate = () => run(mod.run);",
      ].join("\n"),
      resolveDir: root,
      sourcefile: "eval.ts",
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    format: "esm",
    mainFields: ["module", "main"],
    nodePaths: [path.join(platform, "node_modules")],
    banner: {
      js: [
        "import { createRequire as topLevelCreateRequire } from 'module';",
        "const require = topLevelCreateRequire(import.meta.url);",
        'import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url";',
        "const __filename = topLevelFileUrlToPath(import.meta.url);",
        'const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url));',
      ].join("\n"),
    },
    define: globalDefines(context, app),
    inject: [shimFile(context)],
    external: [
      "@pulumi/*",
      "@pulumiverse/*",
      "@aws-sdk/*",
      "undici",
      "esbuild",
      "archiver",
      "glob",
      "vite",
    ],
    plugins: [providerNamespaces(context, app)],
    outfile: programFile,
    logLevel: "silent",
  });
  return programFile;
}
