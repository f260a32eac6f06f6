import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The Node.js a benchmark runs on. Numbers are only production's on the runtime production runs:
 * for the API, packages/core/Dockerfile's `FROM node:<major>`; for a Lambda, its `nodejsNN.x`. Node 24 and Node 20 differ
 * where this API spends its time: on Node 20 every promise runs AsyncLocalStorage's hooks
 * (async_hooks), which Node 24 replaces with AsyncContextFrame; the same bundle served a note
 * read at 0.57 of the baseline on Node 20 and 0.99 on Node 24 in one session's runs.
 *
 * `choice`: "production" (the default: that major, this machine's node if it is that major, else
 * a copy from the npm registry's `node-<platform>-<arch>` package, kept under
 * $XDG_CACHE_HOME/slipway/node/), "current" (the node running the bench), or a path to a node.
 */
export interface BenchNode {
  /** The node executable. */
  path: string;
  version: string;
  /** Where it came from, for the report. */
  source: string;
}

const root = fileURLToPath(new URL("../..", import.meta.url));
/** The API container's image: its runtime stage's node and the command it starts. */
const dockerfile = path.join(root, "packages/core/Dockerfile");

const versionOf = (node: string) => {
  const run = spawnSync(node, ["--version"], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`${node} --version failed: ${run.stderr || run.error}`);
  return run.stdout.trim().replace(/^v/, "");
};

/** What production runs: a Node major and where that is said. */
export interface Runtime {
  major: number;
  source: string;
}

/** The API container's: packages/core/Dockerfile's last `FROM node:<major>` (the runtime stage). */
export function containerRuntime(): Runtime {
  const major = [...readFileSync(dockerfile, "utf8").matchAll(/^FROM node:(\d+)\S*/gm)]
    .map((match) => Number(match[1]))
    .at(-1);
  if (major === undefined) throw new Error(`${dockerfile}: no "FROM node:<major>" line`);
  return { major, source: `packages/core/Dockerfile's node:${major}` };
}

/**
 * The options the API container starts node with: packages/core/Dockerfile's exec-form
 * `CMD ["node", ...options, "server.mjs"]`, so a bench runs the bundle as deployed.
 */
export function containerNodeArgs(): string[] {
  const cmd = [...readFileSync(dockerfile, "utf8").matchAll(/^CMD\s+(\[.*\])\s*$/gm)].at(-1)?.[1];
  const words: unknown = cmd ? JSON.parse(cmd) : undefined;
  if (
    !Array.isArray(words) ||
    words[0] !== "node" ||
    words.at(-1) !== "server.mjs" ||
    !words.every((word) => typeof word === "string")
  ) {
    throw new Error(`${dockerfile}: no CMD ["node", ..., "server.mjs"] line`);
  }
  return words.slice(1, -1) as string[];
}

/** A Lambda's, from its runtime identifier (`nodejs22.x`). */
export function lambdaRuntime(runtime: string): Runtime {
  const major = Number(/^nodejs(\d+)\.x$/.exec(runtime)?.[1]);
  if (!Number.isInteger(major)) throw new Error(`not a Node.js Lambda runtime: ${runtime}`);
  return { major, source: `the Lambda runtime ${runtime}` };
}

export function benchNode(choice: string, production: Runtime): BenchNode {
  if (choice === "current") {
    return { path: process.execPath, version: process.versions.node, source: "this node" };
  }
  if (choice.includes("/")) {
    const given = path.resolve(choice);
    if (!existsSync(given)) throw new Error(`--node: no file ${given}`);
    return { path: given, version: versionOf(given), source: given };
  }
  if (choice !== "production") {
    throw new Error(`--node: "${choice}" is none of production, current or a path to a node`);
  }
  const { major, source } = production;
  if (Number(process.versions.node.split(".")[0]) === major) {
    return { path: process.execPath, version: process.versions.node, source };
  }
  return { ...registryNode(major), source: `${source}, from the npm registry` };
}

/** The newest `major` for this platform, from the npm registry (cached; fetched once). */
function registryNode(major: number): { path: string; version: string } {
  const platform = process.platform === "win32" ? "win" : process.platform;
  const name = `node-${platform}-${process.arch}`;
  const cache = path.join(
    process.env.XDG_CACHE_HOME || path.join(homedir(), ".cache"),
    "slipway",
    "node",
  );
  const binary = (dir: string) => path.join(dir, "bin", platform === "win" ? "node.exe" : "node");
  const cached = existsSync(cache)
    ? readdirSync(cache)
        .filter(
          (dir) => dir.startsWith(`${name}-${major}.`) && existsSync(binary(path.join(cache, dir))),
        )
        .sort((a, b) => b.localeCompare(a, "en", { numeric: true }))
    : [];
  if (cached[0]) {
    const dir = path.join(cache, cached[0]);
    return { path: binary(dir), version: cached[0].slice(name.length + 1) };
  }

  mkdirSync(cache, { recursive: true });
  const scratch = mkdtempSync(path.join(cache, ".fetch-"));
  try {
    process.stderr.write(`fetching ${name}@${major} from the npm registry (once)...\n`);
    const pack = spawnSync(
      "npm",
      ["pack", `${name}@${major}`, "--json", "--pack-destination", scratch],
      { encoding: "utf8" },
    );
    if (pack.status !== 0) {
      throw new Error(
        `npm pack ${name}@${major} failed (pass --node current to measure on this node instead):\n${pack.stderr}`,
      );
    }
    const packed = (JSON.parse(pack.stdout) as { filename: string; version: string }[])[0];
    if (!packed) throw new Error(`npm pack ${name}@${major} wrote no package`);
    const { filename, version } = packed;
    const tar = spawnSync("tar", ["xzf", path.join(scratch, filename), "-C", scratch]);
    if (tar.status !== 0) throw new Error(`extracting ${filename} failed: ${tar.stderr}`);
    // Renamed into place whole: a run stopped midway leaves no half-extracted node in the cache.
    const dir = path.join(cache, `${name}-${version}`);
    try {
      renameSync(path.join(scratch, "package"), dir);
    } catch (error) {
      // Another run put the same version there first.
      if (!existsSync(binary(dir))) throw error;
    }
    if (versionOf(binary(dir)) !== version)
      throw new Error(`${binary(dir)} is not node ${version}`);
    return { path: binary(dir), version };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
