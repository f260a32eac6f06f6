import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// `npm run bench [-- name ... [--option value ...]]`: runs every benchmark under bench/ (or the
// named ones) in turn, passing the options (everything from the first argument starting with
// "-") to each: `npm run bench -- api --rounds 3`.
const here = path.dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here)
  .filter((file) => file.endsWith(".ts") && file !== "run.ts")
  .map((file) => file.replace(/\.ts$/, ""));
const args = process.argv.slice(2);
const firstOption = args.findIndex((arg) => arg.startsWith("-"));
const names = firstOption === -1 ? args : args.slice(0, firstOption);
const forwarded = firstOption === -1 ? [] : args.slice(firstOption);
const chosen = names.length > 0 ? names : all;
for (const name of chosen) {
  if (!all.includes(name)) {
    process.stderr.write(`no benchmark "${name}"; have: ${all.join(", ")}\n`);
    process.exit(2);
  }
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", path.join(here, `${name}.ts`), ...forwarded],
    {
      stdio: "inherit",
    },
  );
  if (result.status !== 0) process.exit(result.status ?? 1);
}
