/**
 * Pull-request previews (.github/workflows/preview.yml, ADR 026): the pure parts, tested in
 * infra/tests/preview.test.ts. Each pull request N deploys the stage `pr-N` on staging's VPC and
 * RDS instance; it is removed when the pull request closes, and a daily sweep removes any `pr-*`
 * stage whose pull request is no longer open (a missed close event, a failed removal).
 */

/** The stage of pull request `number`. */
export function previewStage(number: number): string {
  if (!Number.isInteger(number) || number < 1)
    throw new Error(`not a pull request number: ${number}`);
  return `pr-${number}`;
}

/**
 * The preview stages to remove: every `pr-N` with state in SST's state bucket (keys
 * `app/<app>/<stage>.json`, as `sst state list` reads them) whose pull request is not open.
 */
export function staleStages(
  app: string,
  stateKeys: string[],
  openPullRequests: number[],
): string[] {
  const open = new Set(openPullRequests.map(previewStage));
  const prefix = `app/${app}/`;
  const stages = stateKeys
    .filter((key) => key.startsWith(prefix) && key.endsWith(".json"))
    .map((key) => key.slice(prefix.length, -".json".length))
    .filter((stage) => /^pr-[1-9][0-9]*$/.test(stage));
  return [...new Set(stages)].filter((stage) => !open.has(stage)).sort();
}

/** The lines of `sst diff` worth a reviewer's eye: the summary and each resource change. */
export function diffSummary(diff: string): string[] {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
  const plain = diff.replace(/\u001b\[[0-9;]*m/g, "");
  const lines = plain.split("\n").map((line) => line.trimEnd());
  const changes = lines.filter((line) => /^\s*[+~-]\s+\S/.test(line) || /^\s*[↻±]\s/.test(line));
  const summary = lines.filter((line) =>
    /\b(to create|to update|to delete|to replace|unchanged|No changes)\b/i.test(line),
  );
  return [...summary, ...changes].slice(0, 60);
}

export interface PreviewComment {
  stage: string;
  url?: string;
  diff: string;
  /** The `npm run cost -- --stage <stage>` report. */
  cost: string;
  commit: string;
}

/** The marker the workflow finds its own comment by, to update it instead of adding one per push. */
export const COMMENT_MARKER = "<!-- slipway-preview -->";

/** The pull request comment: the site, the cost, what the deploy changed. */
export function previewComment({ stage, url, diff, cost, commit }: PreviewComment): string {
  const monthly = /^.*a month idle.*$/m.exec(cost)?.[0] ?? "(no cost figure in the report)";
  const standalone = /^the same stage standalone.*$/m.exec(cost)?.[0];
  const changes = diffSummary(diff);
  return [
    COMMENT_MARKER,
    `### Preview \`${stage}\` at ${commit.slice(0, 7)}`,
    "",
    url ? `Site: ${url}` : "Site: (no URL in the deploy's outputs)",
    "",
    `Cost: ${monthly}`,
    ...(standalone ? [`(${standalone})`] : []),
    "",
    "<details><summary>sst diff</summary>",
    "",
    "```",
    ...(changes.length > 0 ? changes : ["(no changes listed)"]),
    "```",
    "</details>",
    "",
    "Removed when this pull request closes (or by the daily sweep).",
  ].join("\n");
}
