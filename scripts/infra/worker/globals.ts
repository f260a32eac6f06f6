import { readFile } from "node:fs/promises";
import path from "node:path";
import type * as esbuild from "esbuild";
import type { WorkerContext } from "./input";

/**
 * The globals the SST CLI gives a config. `$app`, `$cli` and `$dev` are compile-time constants
 * (esbuild `define`); the shim (`$output`, `$interpolate`, `$transform`, `$linkable`, …) is
 * SST's own `src/shim/run.js`, injected; `aws` and `sst` are imports prepended to each user file.
 */

export type AppGlobal = Record<string, unknown> & { name: unknown; stage: string; home: unknown };

/** `$app`: what the config's `app()` returns, over the CLI's defaults, for the stage. */
export function appGlobal(appConfig: Record<string, unknown>, stage: string): AppGlobal {
  return {
    removal: "retain",
    protect: false,
    providers: {},
    ...appConfig,
    name: appConfig.name,
    stage,
    home: appConfig.home ?? "aws",
  };
}

/**
 * `$cli`: the command being run (`deploy`, or `dev` for `sst dev`) and the CLI's paths. The CLI's
 * work directory is the app's `.sst`, where SST's Function writes each function's zip
 * (`artifacts/<name>/code.zip`) and reads it back to hash it: one deploy at a time there, but
 * evaluations run side by side, and two of them writing one file gave one a zip the other had
 * truncated (another hash). Each evaluation's is its own scratch directory.
 */
export function cliGlobal(context: WorkerContext) {
  return {
    command: context.dev ? "dev" : "deploy",
    dev: context.dev,
    paths: {
      home: path.join(context.work, "home"),
      root: context.root,
      work: path.join(context.work, "cli"),
      platform: context.platform,
    },
    state: { version: {} },
  };
}

/** The esbuild `define`s for `$app`, `$cli` and `$dev`. */
export function globalDefines(context: WorkerContext, app: AppGlobal): Record<string, string> {
  return {
    $app: JSON.stringify(app),
    $cli: JSON.stringify(cliGlobal(context)),
    $dev: String(context.dev),
  };
}

/** SST's shim, injected into the bundle: `$output`, `$interpolate`, `$transform`, … */
export function shimFile(context: WorkerContext): string {
  return path.join(context.platform, "src/shim/run.js");
}

/**
 * The CLI prepends the provider namespaces to every user file (not to SST's own): one per
 * provider the config declares (its lock, pkg/project/run.go), then `sst`. Nothing else is a
 * global: a config using, say, `random` without declaring it fails here as it does in the CLI.
 */
export function providerNamespaces(context: WorkerContext, app: AppGlobal): esbuild.Plugin {
  const { platform } = context;
  const providers = Object.keys((app.providers ?? {}) as Record<string, unknown>);
  const imports = [
    ...providers.map((name) => `import * as ${name} from "@pulumi/${name}";`),
    `import * as sst from "${path.join(platform, "src/components")}";`,
  ].join("\n");
  const configDir = path.dirname(path.resolve(context.root, context.config));
  return {
    name: "inject-globals",
    setup(build) {
      build.onLoad({ filter: /\.(js|ts|jsx|tsx)$/ }, async (args) => {
        const relative = path.relative(configDir, args.path);
        if (relative.startsWith("..") || relative.split(path.sep).includes("node_modules"))
          return undefined;
        if (args.path.startsWith(platform)) return undefined;
        return {
          contents: `${imports}\n${await readFile(args.path, "utf8")}`,
          loader: "default",
        };
      });
    },
  };
}
