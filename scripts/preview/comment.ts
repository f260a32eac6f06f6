import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { previewComment } from "./preview";

/**
 * `node --import tsx scripts/preview/comment.ts --stage pr-42 --outputs .sst/outputs.json
 * --diff diff.txt --cost cost.txt`: the preview's pull request comment (markdown) on stdout.
 */
const { values } = parseArgs({
  options: {
    stage: { type: "string" },
    outputs: { type: "string" },
    diff: { type: "string" },
    cost: { type: "string" },
  },
});
const read = (file: string | undefined) => (file ? readFileSync(file, "utf8") : "");
const outputs = (() => {
  try {
    return JSON.parse(read(values.outputs)) as { url?: string };
  } catch {
    return {};
  }
})();
process.stdout.write(
  `${previewComment({
    stage: values.stage ?? "",
    url: outputs.url,
    diff: read(values.diff),
    cost: read(values.cost),
    commit: process.env.GITHUB_SHA ?? "local",
  })}\n`,
);
