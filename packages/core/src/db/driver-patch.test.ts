import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
// A plain .mjs script (it runs before any TypeScript tooling is installed), typed from its code.
import { applyPatches, patches } from "../../../../scripts/deps/patch.mjs";
import { repoRoot } from "../config";

/**
 * postgres.js 3.4.x crashes the process when a transaction's connection dies under it
 * (porsager/postgres#1208): scripts/deps/patch.mjs guards it, run after every install (the root
 * postinstall; the Dockerfile, CI and deploys run it after `npm ci --ignore-scripts`).
 */

const fixture = path.join(repoRoot, "packages/core/test/fixtures/terminated-transaction.mjs");
const postgresDir = path.join(repoRoot, "node_modules/postgres");

describe("postgres.js, patched", () => {
  it("the installed postgres.js carries the guard in every build it ships (src, cjs, cf)", () => {
    for (const file of ["src/connection.js", "cjs/src/connection.js", "cf/src/connection.js"]) {
      expect(readFileSync(path.join(postgresDir, file), "utf8"), file).toContain(
        "slipway: closed under a queued write",
      );
    }
  });

  it("the installed postgres.js compacts its pool's queues in every build it ships", () => {
    for (const file of ["src/queue.js", "cjs/src/queue.js", "cf/src/queue.js"]) {
      expect(readFileSync(path.join(postgresDir, file), "utf8"), file).toContain(
        "slipway: compact the consumed front",
      );
    }
  });

  it("the compacting queue is still a FIFO with remove: any sequence of push, shift and remove gives what an array gives, queues that never empty included", async () => {
    // Not in the package's exports: by path, the installed (patched) file.
    const { default: Queue } = await import(
      pathToFileURL(path.join(postgresDir, "src/queue.js")).href
    );
    type Q = {
      length: number;
      push(x: number): number;
      shift(): number | undefined;
      remove(x: number): number | null;
    };
    const op = fc.oneof(
      { arbitrary: fc.constant({ kind: "push" as const }), weight: 5 },
      { arbitrary: fc.constant({ kind: "shift" as const }), weight: 4 },
      { arbitrary: fc.nat(300).map((at) => ({ kind: "remove" as const, at })), weight: 1 },
    );
    // Plain comparisons, not expect() per step: 200 runs of up to 3,000 steps took 20 s under
    // a loaded CI machine with expect's bookkeeping on every one.
    fc.assert(
      fc.property(fc.array(op, { maxLength: 3000, size: "max" }), fc.nat(100), (ops, prefill) => {
        const initial = Array.from({ length: prefill }, (_, i) => -1 - i);
        const queue = Queue(initial) as Q;
        const model = [...initial];
        let next = 0;
        for (const [i, step] of ops.entries()) {
          let got: unknown;
          let want: unknown;
          if (step.kind === "push") {
            got = queue.push(next);
            want = next;
            model.push(next++);
          } else if (step.kind === "shift") {
            got = queue.shift();
            want = model.shift();
          } else {
            // Present (by position) or absent (a value never pushed).
            const target = model.length > 0 ? (model[step.at % model.length] as number) : 1e9;
            const at = model.indexOf(target);
            got = queue.remove(target);
            want = at === -1 ? null : target;
            if (at !== -1) model.splice(at, 1);
          }
          if (got !== want || queue.length !== model.length) {
            throw new Error(
              `step ${i} (${step.kind}): returned ${got} for ${want}, length ${queue.length} for ${model.length}`,
            );
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)(
    "a transaction whose server connection is terminated rejects, and the process lives on (Postgres only: PGlite has no backends to terminate)",
    () => {
      const run = spawnSync(process.execPath, [fixture], {
        cwd: repoRoot,
        env: { ...process.env, DATABASE_URL: process.env.TEST_DATABASE_URL },
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(run.stderr).not.toContain("TypeError");
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ rejected: "CONNECTION_CLOSED", after: 2 });
    },
  );

  it.skipIf(!process.env.TEST_DATABASE_URL)(
    "the same fixture on an unpatched copy of postgres.js crashes: the guard is what holds (Postgres only)",
    { timeout: 30_000 },
    () => {
      const scratch = mkdtempSync(path.join(tmpdir(), "slipway-unpatched-"));
      try {
        const copy = path.join(scratch, "node_modules/postgres");
        cpSync(postgresDir, copy, { recursive: true });
        const connection = path.join(copy, "src/connection.js");
        const [patch] = patches;
        if (!patch) throw new Error("scripts/deps/patch.mjs lists no patches");
        writeFileSync(connection, readFileSync(connection, "utf8").replace(patch.to, patch.from));
        cpSync(fixture, path.join(scratch, "fixture.mjs"));
        const run = spawnSync(process.execPath, [path.join(scratch, "fixture.mjs")], {
          cwd: scratch,
          env: { ...process.env, DATABASE_URL: process.env.TEST_DATABASE_URL },
          encoding: "utf8",
          timeout: 20_000,
        });
        expect(run.status).toBe(1);
        expect(run.stderr).toContain("Cannot read properties of null (reading 'write')");
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  );

  it("a patch whose target code is gone fails the install, naming the file, instead of passing silently", () => {
    const scratch = mkdtempSync(path.join(tmpdir(), "slipway-changed-"));
    try {
      const copy = path.join(scratch, "node_modules/postgres");
      cpSync(postgresDir, copy, { recursive: true });
      for (const file of ["src/connection.js", "cjs/src/connection.js", "cf/src/connection.js"]) {
        writeFileSync(path.join(copy, file), "// a rewritten connection.js\n");
      }
      expect(() => applyPatches(scratch)).toThrow(
        /postgres\/src\/connection\.js no longer has the code the patch replaces/,
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
