// @ts-check
import { spawnSync } from "node:child_process";

/** @type {string[] | undefined} */
let cached;

/**
 * `--liftoff-only` when this node takes it: PGlite's WebAssembly then stays on V8's baseline
 * compiler. A process that starts PGlite and runs short queries (the dev server, a test file)
 * spends about a third less CPU without the optimising tier-up, which otherwise compiles in the
 * background and takes the second of two cores (ADR 023). A V8 option, not Node's: a node
 * that does not know it refuses to start, so it is tried first.
 * @returns {string[]}
 */
export function liftoffOnly() {
  cached ??=
    spawnSync(process.execPath, ["--liftoff-only", "-e", ""], { stdio: "ignore" }).status === 0
      ? ["--liftoff-only"]
      : [];
  return cached;
}
