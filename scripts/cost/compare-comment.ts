import { readFileSync } from "node:fs";

/**
 * `node --import tsx scripts/cost/compare-comment.ts base.md head.md`: the cost workflow's
 * comment (.github/workflows/cost.yml): each row of `npm run cost -- --compare`'s tables whose
 * figures differ between the base branch and the pull request, then the pull request's tables.
 */

export const COST_MARKER = "<!-- slipway-cost -->";

type Rows = Map<string, { header: string[]; cells: string[] }>;

function rows(markdown: string): Rows {
  const found: Rows = new Map();
  let header: string[] = [];
  for (const line of markdown.split("\n")) {
    if (!line.startsWith("|")) {
      header = [];
      continue;
    }
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((cell) => cell.trim());
    if (cells.every((cell) => /^-*:?$|^:?-+:?$/.test(cell))) continue;
    if (header.length === 0) {
      header = cells;
      continue;
    }
    found.set(`${header[0]}: ${cells[0]}`, { header, cells });
  }
  return found;
}

export function costComment(base: string, head: string): string {
  const before = rows(base);
  const after = rows(head);
  const changed: string[] = [];
  for (const [key, { header, cells }] of after) {
    const old = before.get(key)?.cells;
    if (old && old.join() === cells.join()) continue;
    const figures = cells
      .slice(1)
      .map((cell, i) => `${header[i + 1]} ${old?.[i + 1] ?? "(new)"} → ${cell}`)
      .join("; ");
    changed.push(`| ${key} | ${figures} |`);
  }
  for (const key of before.keys()) if (!after.has(key)) changed.push(`| ${key} | removed |`);
  return [
    COST_MARKER,
    "### Cost against the base branch (`npm run cost -- --compare`, offline)",
    "",
    ...(changed.length > 0
      ? ["| row | before → after |", "|---|---|", ...changed]
      : ["No monthly figure changed."]),
    "",
    "<details><summary>this pull request's tables</summary>",
    "",
    head.trim(),
    "",
    "</details>",
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [base, head] = process.argv.slice(2);
  if (!base || !head) {
    process.stderr.write("usage: compare-comment.ts <base.md> <head.md>\n");
    process.exit(1);
  }
  process.stdout.write(`${costComment(readFileSync(base, "utf8"), readFileSync(head, "utf8"))}\n`);
}
