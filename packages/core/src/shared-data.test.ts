import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./config";

/**
 * Values infra and the app must agree on (the schedule list, the queue policy, the attachment
 * keys) live in plain-data files of this package that infra imports. SST bundles `infra/` into its
 * config, where the app's packages are not installed: each such file must load with no package.
 */
const infraDir = path.join(repoRoot, "infra");
const shared = [
  ...new Set(
    readdirSync(infraDir)
      .filter((file) => file.endsWith(".ts"))
      .flatMap((file) =>
        [
          ...readFileSync(path.join(infraDir, file), "utf8").matchAll(
            /from "\.\.\/(packages\/core\/src\/[^"]+)"/g,
          ),
        ].map((match) => match[1] ?? ""),
      ),
  ),
].sort();

describe("files infra shares with the app", () => {
  it("are found in infra's imports", () => {
    expect(shared).toEqual(
      expect.arrayContaining([
        "packages/core/src/schedules",
        "packages/core/src/task/queue-policy",
        "packages/core/src/attachment/attachment.keys",
      ]),
    );
  });

  it.each(shared)(
    "%s loads without any package (infra reads it inside SST's config bundle)",
    async (file) => {
      const result = await build({
        entryPoints: [path.join(repoRoot, `${file}.ts`)],
        bundle: true,
        write: false,
        metafile: true,
        platform: "node",
        format: "esm",
        logLevel: "silent",
      });
      const inputs = Object.keys(result.metafile.inputs);
      expect(inputs.filter((input) => input.includes("node_modules"))).toEqual([]);
    },
  );
});
