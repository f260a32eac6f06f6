import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * The SST version whose CLI this evaluator stands in for. The stand-ins (the JSON-RPC methods,
 * `$app`/`$cli`, the build options, the namespaces prepended to user files) copy what that
 * version's CLI does, and nothing in SST's types would tell us when a new version changes it.
 */
export const EVALUATOR_SST_VERSION = "4.17.1";

/** The version of the platform `sst install` extracted (its `version` file), if any. */
export function installedSstVersion(platform: string): string | undefined {
  const file = path.join(platform, "version");
  return existsSync(file) ? readFileSync(file, "utf8").trim() : undefined;
}

/** Throws, saying what to do, unless `installed` is the version the evaluator was written for. */
export function assertEvaluatorSupportsSst(
  installed: string | undefined,
  expected = EVALUATOR_SST_VERSION,
): void {
  if (installed === expected) return;
  if (installed === undefined)
    throw new Error(
      "The offline SST evaluator found no .sst/platform/version: run `npm run sst:install` " +
        `(it installs the platform of the sst dependency; the evaluator expects SST ${expected}).`,
    );
  throw new Error(
    `The offline SST evaluator (scripts/infra/evaluate-worker.ts and worker/) was written ` +
      `against SST ${expected}, but the installed platform (.sst/platform) is SST ${installed}. ` +
      "Its stand-ins for the SST CLI may no longer match: re-check them against the new SST's " +
      "platform/src/auto/run.ts and platform/src/shim/ (and pkg/project/run.go, pkg/js/js.go " +
      "for the build and the JSON-RPC methods), then set EVALUATOR_SST_VERSION in " +
      `scripts/infra/worker/sst-version.ts to ${installed}.`,
  );
}
