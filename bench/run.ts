import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// `npm run bench [-- name ...]`: runs every benchmark under bench/ (or the named ones) in turn.
const here = path.dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here)
  .filter((file) => file.endsWith(".ts") && file !== "run.ts")
  .map((file) => file.replace(/\.ts$/, ""));
const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : all;
for (const name of chosen) {
  if (!all.includes(name)) {
    process.stderr.write(`no benchmark "${name}"; have: ${all.join(", ")}\n`);
    process.exit(2);
  }
  const result = spawnSync(process.execPath, ["--import", "tsx", path.join(here, `${name}.ts`)], {
    stdio: "inherit",
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
