// Patches dependencies whose published code has a bug we cannot work around from outside.
// Run after every install: `npm install` runs it as the root postinstall; installs with
// --ignore-scripts (the Dockerfile, CI, deploys) run `node scripts/deps/patch.mjs` themselves.
// Idempotent. A patch whose target text is gone fails loudly: the dependency changed, re-check it.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

/**
 * postgres.js 3.4.x: a write queued with setImmediate runs after the connection closed and
 * dereferences its null socket, an uncaught TypeError that kills the process. It happens on every
 * transaction whose server connection dies (a restart, a failover, pg_terminate_backend): the
 * transaction's ROLLBACK is written on the closed connection (porsager/postgres#1154, #1208, open
 * upstream). The guard fails what was queued with CONNECTION_CLOSED instead, as closing does.
 */
const GUARD_MARK = "slipway: closed under a queued write";
const postgresWriteGuard = {
  name: "postgres.js nextWrite on a closed connection",
  package: "postgres",
  files: ["src/connection.js", "cjs/src/connection.js", "cf/src/connection.js"],
  from: "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)",
  to: [
    "  function nextWrite(fn) {",
    `    if (socket === null) { // ${GUARD_MARK} (porsager/postgres#1208)`,
    "      nextWriteTimer !== null && clearImmediate(nextWriteTimer)",
    "      chunk = nextWriteTimer = null",
    "      error(Errors.connection('CONNECTION_CLOSED', options, socket))",
    "      return false",
    "    }",
    "    const x = socket.write(chunk, fn)",
  ].join("\n"),
  mark: GUARD_MARK,
};

/**
 * postgres.js 3.4.x: its pool's queues (src/queue.js) take items off the front by moving an index
 * and blanking the slot, and drop the array only when the queue empties. Under steady load the
 * queue of open connections never empties, so the array grows for the life of the process, and
 * `remove` (indexOf, on every query) scans every blanked slot: the pool's CPU per query grew from
 * ~33 to ~107 µs in 16 s of a benchmark. The patch drops the consumed front once it is at least
 * 64 slots and half the array, so each slot is copied at most once more: O(1) amortised, as meant.
 */
const QUEUE_MARK = "slipway: compact the consumed front";
const postgresQueueCompaction = {
  name: "postgres.js queue that never compacts",
  package: "postgres",
  files: ["src/queue.js", "cjs/src/queue.js", "cf/src/queue.js"],
  from: [
    "      if (index === xs.length) {",
    "        index = 0",
    "        xs = []",
    "      } else {",
    "        xs[index - 1] = undefined",
    "      }",
  ].join("\n"),
  to: [
    "      if (index === xs.length) {",
    "        index = 0",
    "        xs = []",
    `      } else if (index >= 64 && index * 2 >= xs.length) { // ${QUEUE_MARK}`,
    "        xs = xs.slice(index)",
    "        index = 0",
    "      } else {",
    "        xs[index - 1] = undefined",
    "      }",
  ].join("\n"),
  mark: QUEUE_MARK,
};

export const patches = [postgresWriteGuard, postgresQueueCompaction];

/** The installed package's folder (its exports may not include package.json). */
function packageRoot(name, from) {
  let dir = path.dirname(require.resolve(name, { paths: [from] }));
  while (!existsSync(path.join(dir, "package.json")) || readPackageName(dir) !== name) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the folder of the installed ${name}`);
    dir = parent;
  }
  return dir;
}
const readPackageName = (dir) =>
  JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")).name;

/** Applies every patch to the installed packages; returns what it did, per file. */
export function applyPatches(from = process.cwd()) {
  const done = [];
  for (const patch of patches) {
    const root = packageRoot(patch.package, from);
    for (const file of patch.files) {
      const target = path.join(root, file);
      const source = readFileSync(target, "utf8");
      if (source.includes(patch.mark)) {
        done.push(`${patch.package}/${file}: already patched`);
        continue;
      }
      if (!source.includes(patch.from)) {
        throw new Error(
          `${patch.name}: ${patch.package}/${file} no longer has the code the patch replaces; the dependency changed (check whether it is fixed upstream, then update or remove the patch in scripts/deps/patch.mjs)`,
        );
      }
      writeFileSync(target, source.replace(patch.from, patch.to));
      done.push(`${patch.package}/${file}: patched`);
    }
  }
  return done;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of applyPatches()) process.stdout.write(`deps: ${line}\n`);
}
