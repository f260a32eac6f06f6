import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  type FSWatcher,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  watch,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import type { BuildContext, BuildOptions, Message, Plugin } from "esbuild";
import { liftoffOnly } from "./node-flags";

/**
 * The API for `npm run dev` and `npm run preview`: src/server.ts bundled by esbuild and run by
 * plain node, instead of `tsx watch`. Node then parses one file instead of resolving and loading
 * ~1,700 modules through tsx's loader hooks, and no tsx process sits between (ADR 023).
 *
 * - The bundle is kept (`.data/cache/api/`) with the size and mtime of every source file it was
 *   built from; a start whose sources are all unchanged runs it without building.
 * - Reload as `tsx watch` does: a change to any source file the bundle holds (node_modules
 *   aside) stops the API (SIGTERM; SIGKILL after 5 s), rebuilds (incrementally) and starts it
 *   again. An API that exits on its own, or a build that fails, waits for the next change.
 * - The bundle sits three levels below the repo, like dist/server.mjs, so config.ts finds the
 *   repo root from its own location; the few packages left external are imported by the paths
 *   they resolve to from the sources, so they load from the same node_modules.
 */

export interface ApiOptions {
  root: string;
  /** Rebuild and restart on change (dev); preview runs once. */
  watch: boolean;
  env: NodeJS.ProcessEnv;
  /** Where the API's stdout and stderr go, a chunk at a time. */
  output(stream: "stdout" | "stderr", chunk: Buffer): void;
  /** The API exited and will not be restarted (preview, or after `stop`). */
  onExit(code: number | null, signal: NodeJS.Signals | null): void;
  /** Lines for the developer (a rebuild, a failed build, a crash). */
  note(line: string): void;
}

export interface Api {
  /**
   * Nothing restarts from now on; `signal`, if given, goes to the running API. onExit follows
   * once it has exited (at once if none runs).
   */
  stop(signal?: NodeJS.Signals): void;
}

const ENTRY = "packages/core/src/server.ts";
const OUT_DIR = ".data/cache/api";
/** Left out of the bundle as the production build leaves them (packages/core package.json). */
const EXTERNAL = ["@electric-sql/pglite", "drizzle-orm/pglite", "@node-rs/argon2"];

interface Manifest {
  key: string;
  /** Source files (repo-relative) with [size, mtimeMs], as they were when built. */
  inputs: Record<string, [number, number]>;
  /** Whether this node takes --liftoff-only (node-flags.ts), found once per build. */
  liftoffOnly: boolean;
}

/** The installed packages, as npm last wrote them: a change means rebuild (they are bundled). */
const DEPENDENCY_STAMPS = ["package-lock.json", "node_modules/.package-lock.json"];

function stamp(file: string): [number, number] | undefined {
  const stats = statSync(file, { throwIfNoEntry: false });
  return stats ? [stats.size, stats.mtimeMs] : undefined;
}

/** Redirects the externals to the files they resolve to from the importing source. */
const externalByPath: Plugin = {
  name: "external-by-path",
  setup(build) {
    const filter = new RegExp(`^(${EXTERNAL.map((e) => e.replace(/[/.]/g, "\\$&")).join("|")})$`);
    build.onResolve({ filter }, async (args) => {
      if (args.pluginData === "resolving") return undefined;
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        pluginData: "resolving",
      });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      return { path: resolved.path, external: true };
    });
  },
};

function buildOptions(root: string): BuildOptions {
  return {
    absWorkingDir: root,
    entryPoints: [ENTRY],
    bundle: true,
    platform: "node",
    format: "esm",
    target: `node${process.versions.node.split(".")[0]}`,
    sourcemap: "linked",
    // Locations only: the sources are on disk, and node parses the whole map at start (an 11 MB
    // map with them took ~0.1 s).
    sourcesContent: false,
    outfile: path.join(root, OUT_DIR, "server.mjs"),
    // CommonJS dependencies call require(); ESM has none.
    banner: {
      js: "import { createRequire as __devRequire } from 'node:module'; const require = __devRequire(import.meta.url);",
    },
    metafile: true,
    write: false,
    logLevel: "silent",
    plugins: [externalByPath],
  };
}

/** What the bundle depends on besides its sources: the options, esbuild, node, npm's install. */
function cacheKey(root: string, esbuildVersion: string): string {
  const { plugins: _plugins, ...options } = buildOptions(root);
  const dependencies = DEPENDENCY_STAMPS.map((file) => stamp(path.join(root, file)) ?? null);
  return createHash("sha256")
    .update(JSON.stringify([options, esbuildVersion, process.version, dependencies]))
    .digest("hex");
}

function esbuildVersion(root: string): string {
  const manifest = path.join(root, "node_modules/esbuild/package.json");
  return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
}

function readManifest(root: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(path.join(root, OUT_DIR, "manifest.json"), "utf8")) as Manifest;
  } catch {
    return undefined;
  }
}

/** The kept bundle, if every file it was built from is as it was. */
function upToDate(root: string, manifest: Manifest | undefined): boolean {
  if (!manifest || manifest.key !== cacheKey(root, esbuildVersion(root))) return false;
  if (!stamp(path.join(root, OUT_DIR, "server.mjs"))) return false;
  return Object.entries(manifest.inputs).every(([file, [size, mtime]]) => {
    const now = stamp(path.join(root, file));
    return now?.[0] === size && now[1] === mtime;
  });
}

/** Writes a file atomically: two dev servers may build at once, and a reader never sees half. */
function writeAtomic(file: string, contents: Uint8Array | string) {
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, contents);
  renameSync(temp, file);
}

export function formatMessages(messages: Message[]): string {
  return messages
    .map((m) => {
      const where = m.location
        ? `${m.location.file}:${m.location.line}:${m.location.column}: `
        : "";
      return `${where}${m.text}`;
    })
    .join("\n");
}

export function startApi(options: ApiOptions): Api {
  const { root } = options;
  let child: ChildProcess | undefined;
  let final = false;
  let context: BuildContext | undefined;
  let manifest = readManifest(root);
  let watchers: FSWatcher[] = [];
  let pending: NodeJS.Timeout | undefined;
  let restarting = false;
  let again = false;
  let exited = false;
  /** Reports the API's end once, however it came (its exit, or a stop during a restart). */
  const end = (code: number | null, signal: NodeJS.Signals | null) => {
    if (exited) return;
    exited = true;
    void stopWatching();
    options.onExit(code, signal);
  };

  async function build(): Promise<Manifest | undefined> {
    const esbuild = await import("esbuild");
    context ??= await esbuild.context(buildOptions(root));
    try {
      const result = await context.rebuild();
      mkdirSync(path.join(root, OUT_DIR), { recursive: true });
      // The map first: the bundle names it, and a new bundle must not point at an old map.
      const files = result.outputFiles ?? [];
      const isMap = (file: { path: string }) => file.path.endsWith(".map");
      for (const file of [...files.filter(isMap), ...files.filter((f) => !isMap(f))]) {
        writeAtomic(file.path, file.contents);
      }
      const inputs: Manifest["inputs"] = {};
      for (const input of Object.keys(result.metafile?.inputs ?? {})) {
        if (input.includes("node_modules/")) continue;
        const found = stamp(path.join(root, input));
        if (found) inputs[input] = found;
      }
      const next: Manifest = {
        key: cacheKey(root, esbuild.version),
        inputs,
        liftoffOnly: manifest?.liftoffOnly ?? liftoffOnly().length > 0,
      };
      writeAtomic(path.join(root, OUT_DIR, "manifest.json"), JSON.stringify(next));
      return next;
    } catch (error) {
      const errors = (error as { errors?: Message[] }).errors;
      options.note(`build failed:\n${errors ? formatMessages(errors) : String(error)}`);
      return undefined;
    }
  }

  function run(built: Manifest) {
    // Stopped while it was being built: nothing starts.
    if (final) return end(null, null);
    const args = [
      // Stack traces name the TypeScript sources, as under tsx.
      "--enable-source-maps",
      // PGlite's WebAssembly on V8's baseline compiler only (node-flags.ts): boots ~0.3x faster.
      ...(built.liftoffOnly ? ["--liftoff-only"] : []),
      path.join(root, OUT_DIR, "server.mjs"),
    ];
    const started = spawn(process.execPath, args, {
      cwd: root,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = started;
    started.stdout?.on("data", (chunk: Buffer) => options.output("stdout", chunk));
    started.stderr?.on("data", (chunk: Buffer) => options.output("stderr", chunk));
    started.on("exit", (code, signal) => {
      if (child === started) child = undefined;
      if (final || !options.watch) end(code, signal);
      else if (!restarting) {
        options.note(`exited (${signal ?? code}); restarting on the next change`);
      }
    });
    if (options.watch) watchSources(built);
  }

  /** Watches the directories of the bundle's sources (editors often replace a file by renaming). */
  function watchSources(built: Manifest) {
    for (const watcher of watchers) watcher.close();
    const sources = new Set(Object.keys(built.inputs).map((file) => path.join(root, file)));
    const dirs = new Set([...sources].map((file) => path.dirname(file)));
    watchers = [...dirs].map((dir) =>
      watch(dir, (_event, name) => {
        if (name && sources.has(path.join(dir, name.toString()))) schedule();
      }),
    );
  }

  function schedule() {
    if (final) return;
    clearTimeout(pending);
    // As tsx watch: changes within 100 ms are one restart.
    pending = setTimeout(() => void restart(), 100);
  }

  async function restart() {
    if (restarting) {
      again = true;
      return;
    }
    restarting = true;
    options.note("change seen; restarting");
    // The rebuild runs while the old API shuts down.
    const [built] = await Promise.all([build(), stopChild()]);
    restarting = false;
    if (final) return end(null, null);
    if (again) {
      again = false;
      return restart();
    }
    if (built) {
      manifest = built;
      run(built);
    } else if (manifest) {
      // Keep watching what the last good build held: fixing the error restarts.
      watchSources(manifest);
    }
  }

  function stopChild(): Promise<void> {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null)
      return Promise.resolve();
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        options.note("did not exit in 5 s; killing it");
        current.kill("SIGKILL");
      }, 5_000);
      current.once("exit", () => {
        clearTimeout(force);
        resolve();
      });
      current.kill("SIGTERM");
    });
  }

  async function stopWatching() {
    clearTimeout(pending);
    for (const watcher of watchers) watcher.close();
    watchers = [];
    await context?.dispose();
    context = undefined;
  }

  let building = true;
  void (async () => {
    let built = upToDate(root, manifest) ? manifest : undefined;
    if (!built) {
      options.note("bundling src/server.ts");
      built = await build();
    }
    building = false;
    if (!built) {
      if (!options.watch) return end(1, null);
      // Nothing to run yet: a fix to any source restarts.
      return watchAll();
    }
    manifest = built;
    run(built);
  })();

  /** After a first build that failed: every TypeScript file under packages/ may be the fix. */
  function watchAll() {
    watchers = [
      watch(path.join(root, "packages"), { recursive: true }, (_event, name) => {
        if (name && /\.(ts|tsx|json)$/.test(name.toString()) && !name.includes("node_modules"))
          schedule();
      }),
    ];
  }

  return {
    stop(signal) {
      final = true;
      void stopWatching();
      if (child) {
        if (signal) child.kill(signal);
      } else if (!restarting && !building) end(null, signal ?? null);
    },
  };
}
