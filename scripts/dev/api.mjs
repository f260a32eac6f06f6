// @ts-check
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  watch,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { liftoffOnly } from "./node-flags.mjs";

/**
 * Plain JavaScript, typed by JSDoc and checked by `tsc -p scripts` (checkJs): `npm run dev` runs
 * it with plain node, no tsx loader (~0.3 s of every start, ADR 023).
 * @import { ChildProcess } from "node:child_process"
 * @import { FSWatcher } from "node:fs"
 * @import { BuildContext, BuildOptions, Message, Plugin } from "esbuild"
 */

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

/**
 * @typedef {object} ApiOptions
 * @property {string} root
 * @property {boolean} watch Rebuild and restart on change (dev); preview runs once.
 * @property {NodeJS.ProcessEnv} env
 * @property {(stream: "stdout" | "stderr", chunk: Buffer) => void} output Where the API's stdout
 *   and stderr go, a chunk at a time.
 * @property {(code: number | null, signal: NodeJS.Signals | null) => void} onExit The API exited
 *   and will not be restarted (preview, or after `stop`).
 * @property {(line: string) => void} note Lines for the developer (a rebuild, a failed build, a
 *   crash).
 */

/**
 * @typedef {object} Api
 * @property {(signal?: NodeJS.Signals) => void} stop Nothing restarts from now on; `signal`, if
 *   given, goes to the running API. onExit follows once it has exited (at once if none runs).
 */

const ENTRY = "packages/core/src/server.ts";
const OUT_DIR = ".data/cache/api";
/** The bundle's chunks, beside it (config.ts finds the repo from its own depth, in any chunk). */
const CHUNK_PREFIX = "chunk-";
/**
 * A chunk no build references any more is deleted once it is this old: another dev server on the
 * same checkout may have just written it for its own bundle, or be running an older bundle that
 * reads its chunks on first use until its own rebuild.
 */
const STALE_CHUNK_MS = 60 * 60_000;
/** Left out of the bundle as the production build leaves them (packages/core package.json). */
const EXTERNAL = ["@electric-sql/pglite", "drizzle-orm/pglite", "@node-rs/argon2"];

/**
 * @typedef {object} Manifest
 * @property {string} key
 * @property {Record<string, [number, number]>} inputs Source files (repo-relative) with
 *   [size, mtimeMs], as they were when built.
 * @property {string[]} outputs The files the build wrote (relative to OUT_DIR): a kept bundle
 *   runs only if all are there.
 * @property {boolean} liftoffOnly Whether this node takes --liftoff-only (node-flags.mjs), found
 *   once per build.
 */

/** The installed packages, as npm last wrote them: a change means rebuild (they are bundled). */
const DEPENDENCY_STAMPS = ["package-lock.json", "node_modules/.package-lock.json"];

/**
 * @param {string} file
 * @returns {[number, number] | undefined}
 */
function stamp(file) {
  const stats = statSync(file, { throwIfNoEntry: false });
  return stats ? [stats.size, stats.mtimeMs] : undefined;
}

/** Redirects the externals to the files they resolve to from the importing source. */
/** @type {Plugin} */
const externalByPath = {
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

/**
 * @param {string} root
 * @returns {BuildOptions}
 */
function buildOptions(root) {
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
    // Split as the production build is (ADR 022): what a boot does not run (the AWS SDK, Sentry,
    // the CA bundle, file-type...) sits in chunks read on first use. One 5.7 MB file made every
    // start parse it all and line-index its source map (~0.3 s of CPU of a second start).
    splitting: true,
    outdir: path.join(root, OUT_DIR),
    entryNames: "server",
    chunkNames: `${CHUNK_PREFIX}[name]-[hash]`,
    outExtension: { ".js": ".mjs" },
    // CommonJS dependencies call require(); ESM has none.
    banner: {
      js: "import { createRequire as __devRequire } from 'node:module'; const require = __devRequire(import.meta.url);",
    },
    // The tests' cheap password hashing is never read by a served API (account/password.ts).
    define: { "process.env.SLIPWAY_TEST_ARGON2": "undefined" },
    metafile: true,
    write: false,
    logLevel: "silent",
    plugins: [externalByPath],
  };
}

/** What the bundle depends on besides its sources: the options, esbuild, node, npm's install. */
/**
 * @param {string} root
 * @param {string} esbuildVersion
 */
function cacheKey(root, esbuildVersion) {
  const { plugins: _plugins, ...options } = buildOptions(root);
  const dependencies = DEPENDENCY_STAMPS.map((file) => stamp(path.join(root, file)) ?? null);
  return createHash("sha256")
    .update(JSON.stringify([options, esbuildVersion, process.version, dependencies]))
    .digest("hex");
}

/**
 * @param {string} root
 * @returns {string}
 */
function esbuildVersion(root) {
  const manifest = path.join(root, "node_modules/esbuild/package.json");
  return JSON.parse(readFileSync(manifest, "utf8")).version;
}

/**
 * @param {string} root
 * @returns {Manifest | undefined}
 */
function readManifest(root) {
  try {
    return JSON.parse(readFileSync(path.join(root, OUT_DIR, "manifest.json"), "utf8"));
  } catch {
    return undefined;
  }
}

/** The kept bundle, if every file it was built from is as it was. */
/**
 * @param {string} root
 * @param {Manifest | undefined} manifest
 */
function upToDate(root, manifest) {
  if (!manifest || manifest.key !== cacheKey(root, esbuildVersion(root))) return false;
  if (!stamp(path.join(root, OUT_DIR, "server.mjs"))) return false;
  if (!manifest.outputs?.every((file) => stamp(path.join(root, OUT_DIR, file)))) return false;
  return Object.entries(manifest.inputs).every(([file, [size, mtime]]) => {
    const now = stamp(path.join(root, file));
    return now?.[0] === size && now[1] === mtime;
  });
}

/** Writes a file atomically: two dev servers may build at once, and a reader never sees half. */
/**
 * @param {string} file
 * @param {Uint8Array | string} contents
 */
function writeAtomic(file, contents) {
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, contents);
  renameSync(temp, file);
}

/**
 * Deletes the chunks (and their maps) of earlier builds, once they are STALE_CHUNK_MS old.
 * @param {string} root
 * @param {Set<string>} current the paths this build wrote
 */
function pruneChunks(root, current) {
  const dir = path.join(root, OUT_DIR);
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(CHUNK_PREFIX)) continue;
    const file = path.join(dir, name);
    if (current.has(file)) continue;
    const stats = statSync(file, { throwIfNoEntry: false });
    if (stats && now - stats.mtimeMs > STALE_CHUNK_MS) rmSync(file, { force: true });
  }
}

/**
 * @param {Message[]} messages
 * @returns {string}
 */
export function formatMessages(messages) {
  return messages
    .map((m) => {
      const where = m.location
        ? `${m.location.file}:${m.location.line}:${m.location.column}: `
        : "";
      return `${where}${m.text}`;
    })
    .join("\n");
}

/**
 * @param {ApiOptions} options
 * @returns {Api}
 */
export function startApi(options) {
  const { root } = options;
  /** @type {ChildProcess | undefined} */
  let child;
  let final = false;
  /** @type {BuildContext | undefined} */
  let context;
  let manifest = readManifest(root);
  /** @type {FSWatcher[]} */
  let watchers = [];
  /** @type {NodeJS.Timeout | undefined} */
  let pending;
  let restarting = false;
  let again = false;
  let exited = false;
  /** Reports the API's end once, however it came (its exit, or a stop during a restart). */
  /** @type {ApiOptions["onExit"]} */
  const end = (code, signal) => {
    if (exited) return;
    exited = true;
    void stopWatching();
    options.onExit(code, signal);
  };

  /** @returns {Promise<Manifest | undefined>} */
  async function build() {
    const esbuild = await import("esbuild");
    context ??= await esbuild.context(buildOptions(root));
    try {
      const result = await context.rebuild();
      mkdirSync(path.join(root, OUT_DIR), { recursive: true });
      // Maps and chunks first, the entry last: a bundle must never point at a chunk or a map
      // not yet written (chunks are named by their content: rewriting one writes the same bytes).
      const files = result.outputFiles ?? [];
      const entry = path.join(root, OUT_DIR, "server.mjs");
      /** @param {{ path: string }} file */
      const rank = (file) => (file.path.endsWith(".map") ? 0 : file.path === entry ? 2 : 1);
      for (const file of [...files].sort((a, b) => rank(a) - rank(b))) {
        writeAtomic(file.path, file.contents);
      }
      pruneChunks(root, new Set(files.map((file) => file.path)));
      /** @type {Manifest["inputs"]} */
      const inputs = {};
      for (const input of Object.keys(result.metafile?.inputs ?? {})) {
        if (input.includes("node_modules/")) continue;
        const found = stamp(path.join(root, input));
        if (found) inputs[input] = found;
      }
      /** @type {Manifest} */
      const next = {
        key: cacheKey(root, esbuild.version),
        inputs,
        outputs: files.map((file) => path.relative(path.join(root, OUT_DIR), file.path)),
        liftoffOnly: manifest?.liftoffOnly ?? liftoffOnly().length > 0,
      };
      writeAtomic(path.join(root, OUT_DIR, "manifest.json"), JSON.stringify(next));
      return next;
    } catch (error) {
      const errors = /** @type {{ errors?: Message[] }} */ (error).errors;
      options.note(`build failed:\n${errors ? formatMessages(errors) : String(error)}`);
      return undefined;
    }
  }

  /** @param {Manifest} built */
  function run(built) {
    // Stopped while it was being built: nothing starts.
    if (final) return end(null, null);
    const args = [
      // Stack traces name the TypeScript sources, as under tsx.
      "--enable-source-maps",
      // PGlite's WebAssembly on V8's baseline compiler only (node-flags.mjs): boots ~0.3x faster.
      ...(built.liftoffOnly ? ["--liftoff-only"] : []),
      path.join(root, OUT_DIR, "server.mjs"),
    ];
    const started = spawn(process.execPath, args, {
      cwd: root,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = started;
    started.stdout?.on("data", (chunk) => options.output("stdout", chunk));
    started.stderr?.on("data", (chunk) => options.output("stderr", chunk));
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
  /** @param {Manifest} built */
  function watchSources(built) {
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

  /** @returns {Promise<void>} */
  function stopChild() {
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
    /** @type {Manifest | undefined} */
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
