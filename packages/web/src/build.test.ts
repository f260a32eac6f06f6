import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * What the deployed site publishes: infra/web.ts's StaticSite runs `npm run build` here (vite
 * build) and uploads everything in dist/. Built into a directory of its own (about a second), so
 * a dist/ left by an older build, which the infra tests reuse, cannot hide a regression.
 */

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const vite = path.join(
  path.dirname(createRequire(import.meta.url).resolve("vite/package.json", { paths: [web] })),
  "bin/vite.js",
);
const out = mkdtempSync(path.join(tmpdir(), "slipway-site-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

let files: string[] = [];
beforeAll(() => {
  const build = spawnSync(
    process.execPath,
    [vite, "build", "--outDir", out, "--emptyOutDir", "--logLevel", "warn"],
    { cwd: web, encoding: "utf8", env: { ...process.env, NODE_ENV: "production" } },
  );
  expect(build.status, build.stderr).toBe(0);
  files = readdirSync(out, { recursive: true, encoding: "utf8" });
}, 60_000);

describe("the production build of the site", () => {
  // Fails with `sourcemap: true` (as before): dist/assets/index-*.js.map, 1.4 MB of the original
  // source with its comments, was public on the CloudFront URL.
  it("publishes no source maps: no .map file, no sourceMappingURL pointing at one", () => {
    expect(files).toContain("index.html");
    expect(files.filter((file) => file.endsWith(".js")).length).toBeGreaterThan(0);
    expect(files.filter((file) => file.endsWith(".map"))).toEqual([]);
    for (const file of files.filter((name) => /\.(js|css|html)$/.test(name))) {
      expect(readFileSync(path.join(out, file), "utf8"), file).not.toMatch(/sourceMappingURL/);
    }
  });

  // A member never downloads the operator console: it is a chunk of its own (pages/admin.tsx
  // imports it lazily), which the page's entry script only names, and its styles come with it.
  it("keeps the operator console out of the entry script and the entry styles", () => {
    const html = readFileSync(path.join(out, "index.html"), "utf8");
    const entries = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map(
      (m) => m[1] ?? "",
    );
    expect(entries.filter((file) => file.endsWith(".js")).length).toBeGreaterThan(0);
    for (const entry of entries) {
      const text = readFileSync(path.join(out, entry), "utf8");
      // Booleans: a failure names the file, not the whole minified script.
      expect(text.includes("Operator console"), entry).toBe(false);
      expect(text.includes("console-nav"), entry).toBe(false);
    }
    const chunks = files.filter((file) => /\.(js|css)$/.test(file) && !entries.includes(file));
    const consoleChunks = chunks.filter((file) =>
      /Operator console|console-nav/.test(readFileSync(path.join(out, file), "utf8")),
    );
    expect(consoleChunks.some((file) => file.endsWith(".js"))).toBe(true);
    expect(consoleChunks.some((file) => file.endsWith(".css"))).toBe(true);
  });
});
