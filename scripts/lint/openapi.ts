import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * `npm run lint`: the OpenAPI document the API serves, linted by Redocly CLI with the rules in
 * redocly.yaml (its recommended set). Generated offline without a server: the app answers
 * `GET /api/openapi.json` in-process, with what any client sends (no cookie: the document is
 * public). Written to `.data/openapi.json`, then linted; any error or warning fails the lint.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const file = path.join(root, ".data", "openapi.json");

/** The live document, as `GET /api/openapi.json` answers it. */
export async function liveDocument(): Promise<unknown> {
  process.env.LOG_LEVEL ??= "error";
  const { app } = await import("@slipway/core/api");
  const response = await app.request("/api/openapi.json");
  if (response.status !== 200) {
    throw new Error(`GET /api/openapi.json answered ${response.status}: ${await response.text()}`);
  }
  return response.json();
}

interface Report {
  totals: { errors: number; warnings: number };
  problems: {
    ruleId: string;
    severity: string;
    message: string;
    location: { pointer?: string }[];
  }[];
}

async function main(): Promise<number> {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(await liveDocument(), null, 2)}\n`);
  const redocly = path.join(root, "node_modules", ".bin", "redocly");
  const run = spawnSync(
    redocly,
    ["lint", "--config", path.join(root, "redocly.yaml"), "--format", "json", file],
    {
      cwd: root,
      encoding: "utf8",
      // Offline: no telemetry, no update check, no notices.
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_NOTIFICATIONS: "true" },
    },
  );
  let report: Report;
  try {
    report = JSON.parse(run.stdout) as Report;
  } catch {
    process.stderr.write(`redocly lint gave no report (exit ${run.status}):\n${run.stderr}\n`);
    return 1;
  }
  for (const problem of report.problems) {
    const where = problem.location[0]?.pointer ?? "";
    process.stderr.write(`${problem.severity} ${problem.ruleId} ${where}: ${problem.message}\n`);
  }
  const { errors, warnings } = report.totals;
  if (errors + warnings > 0) {
    process.stderr.write(`openapi: ${errors} error(s), ${warnings} warning(s) in ${file}\n`);
    return 1;
  }
  process.stdout.write(
    `openapi: ${path.relative(root, file)} passes Redocly's rules (redocly.yaml)\n`,
  );
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // The app's modules keep handles (the database client, timers) a lint has no use for.
  process.exit(await main());
}
