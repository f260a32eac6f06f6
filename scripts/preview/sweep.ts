import { execFileSync } from "node:child_process";
import { staleStages } from "./preview";

/**
 * `node --import tsx scripts/preview/sweep.ts [--dry-run]`: removes every `pr-N` stage whose pull
 * request is not open (the preview workflow's scheduled job). Needs AWS credentials for the
 * preview role (the state bucket, `sst remove`) and GH_TOKEN (to list open pull requests).
 */
const run = (command: string, args: string[]) => execFileSync(command, args, { encoding: "utf8" });

const app = "slipway";
const bootstrap = JSON.parse(
  run("aws", [
    "ssm",
    "get-parameter",
    "--name",
    "/sst/bootstrap",
    "--query",
    "Parameter.Value",
    "--output",
    "text",
  ]),
) as { state: string };
const keys = JSON.parse(
  run("aws", [
    "s3api",
    "list-objects-v2",
    "--bucket",
    bootstrap.state,
    "--prefix",
    `app/${app}/`,
    "--query",
    "Contents[].Key",
    "--output",
    "json",
  ]) || "[]",
) as string[] | null;
const open = JSON.parse(
  run("gh", ["pr", "list", "--state", "open", "--limit", "1000", "--json", "number"]),
) as { number: number }[];

const stale = staleStages(
  app,
  keys ?? [],
  open.map((pr) => pr.number),
);
process.stdout.write(`preview stages of closed pull requests: ${stale.join(", ") || "none"}\n`);
if (!process.argv.includes("--dry-run")) {
  for (const stage of stale) {
    process.stdout.write(`sst remove --stage ${stage}\n`);
    execFileSync("./node_modules/.bin/sst", ["remove", "--stage", stage], { stdio: "inherit" });
  }
}
