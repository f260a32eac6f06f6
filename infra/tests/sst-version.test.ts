import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { evaluate } from "../../scripts/infra/evaluate";
import {
  assertEvaluatorSupportsSst,
  EVALUATOR_SST_VERSION,
  installedSstVersion,
} from "../../scripts/infra/worker/sst-version";

// The evaluator stands in for one SST version's CLI; a different SST must stop it, not mislead it.

const root = fileURLToPath(new URL("../..", import.meta.url));
// Under the repository, so that the worker finds tsx and esbuild from it.
const scratch = path.join(root, "node_modules", ".cache", "slipway");
mkdirSync(scratch, { recursive: true });
const dirs: string[] = [];
function fakeRoot(version?: string): string {
  const dir = mkdtempSync(path.join(scratch, "sst-version-"));
  dirs.push(dir);
  mkdirSync(path.join(dir, ".sst", "platform"), { recursive: true });
  if (version !== undefined) writeFileSync(path.join(dir, ".sst", "platform", "version"), version);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("the evaluator's SST version guard", () => {
  it("passes for the installed platform (the sst dependency's, installed by setup)", () => {
    expect(() =>
      assertEvaluatorSupportsSst(installedSstVersion(path.join(root, ".sst", "platform"))),
    ).not.toThrow();
  });

  it("fails on another version, naming both, what to re-check and what to bump", () => {
    const check = () => assertEvaluatorSupportsSst("4.18.0", "4.17.1");
    expect(check).toThrow(/written against SST 4\.17\.1/);
    expect(check).toThrow(/\(\.sst\/platform\) is SST 4\.18\.0/);
    expect(check).toThrow(/platform\/src\/auto\/run\.ts and platform\/src\/shim\//);
    expect(check).toThrow(/set EVALUATOR_SST_VERSION in scripts\/infra\/worker\/sst-version\.ts/);
  });

  it("fails when no platform is installed, saying how to install it", () => {
    expect(() => assertEvaluatorSupportsSst(undefined)).toThrow(/npm run sst:install/);
  });

  it("reads the platform's version file", () => {
    const dir = fakeRoot(`${EVALUATOR_SST_VERSION}\n`);
    expect(installedSstVersion(path.join(dir, ".sst", "platform"))).toBe(EVALUATOR_SST_VERSION);
    expect(installedSstVersion(path.join(fakeRoot(), ".sst", "platform"))).toBeUndefined();
  });

  it("stops an evaluation before it runs anything", async () => {
    await expect(evaluate({ stage: "staging", root: fakeRoot("4.99.0") })).rejects.toThrow(
      new RegExp(
        `written against SST ${EVALUATOR_SST_VERSION.replaceAll(".", "\\.")}.*SST 4\\.99\\.0`,
      ),
    );
  });
});
