import { readFileSync, writeFileSync } from "node:fs";
import type { Evaluation } from "../infra/evaluate";
import { type CostReport, price } from "./price";

/**
 * The accepted idle cost of each resource, per stage (infra/cost-baseline.json, written by
 * `npm run cost -- --write-baseline`). Its diff in a change shows what that change costs; the
 * budget test uses it to name the resources that grew.
 */
const file = new URL("../../infra/cost-baseline.json", import.meta.url);

export type Baseline = Record<string, { idle: number; resources: Record<string, number> }>;

export function baselineEntry(report: CostReport) {
  return {
    idle: report.idle,
    resources: Object.fromEntries(
      report.lines.filter((l) => l.idle > 0).map((l) => [l.resource, l.idle]),
    ),
  };
}

export function writeBaseline(evaluations: Evaluation[]) {
  const baseline: Baseline = Object.fromEntries(
    evaluations.map((e) => [e.app.stage, baselineEntry(price(e, 0))]),
  );
  writeFileSync(file, `${JSON.stringify(baseline, null, 2)}\n`);
}

export function readBaseline(): Baseline {
  return JSON.parse(readFileSync(file, "utf8")) as Baseline;
}

/** Resources that cost more idle than in the baseline, or are new, with both figures. */
export function grown(report: CostReport, baseline: Baseline): string[] {
  const before = baseline[report.stage]?.resources ?? {};
  return report.lines
    .filter((line) => line.idle > (before[line.resource] ?? 0))
    .map(
      (line) =>
        `${line.resource}: $${(before[line.resource] ?? 0).toFixed(2)} -> $${line.idle.toFixed(2)}`,
    );
}
