import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
  "utf8",
);

/** axe-core's WCAG 2.0/2.1 A and AA violations on the page, and any sideways overflow. */
export async function audit(page: Page) {
  await page.addScriptTag({ content: axeSource });
  return page.evaluate(async () => {
    type Axe = {
      run(options: object): Promise<{ violations: { id: string; nodes: unknown[] }[] }>;
    };
    const { violations } = await (window as unknown as { axe: Axe }).axe.run({
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
    return {
      violations: violations.map((v) => `${v.id} (${v.nodes.length})`),
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    };
  });
}
