import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
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
const withDsn = mkdtempSync(path.join(tmpdir(), "slipway-site-dsn-"));
afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(withDsn, { recursive: true, force: true });
});

function build(outDir: string, env: Record<string, string> = {}) {
  const result = spawnSync(
    process.execPath,
    [vite, "build", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"],
    {
      cwd: web,
      encoding: "utf8",
      env: { ...process.env, SLIPWAY_WEB_SENTRY_DSN: "", NODE_ENV: "production", ...env },
    },
  );
  expect(result.status, result.stderr).toBe(0);
}

/** The JavaScript a first visit loads before anything runs: index.html's module and preloads. */
function initialScripts(dir: string): string[] {
  const html = readFileSync(path.join(dir, "index.html"), "utf8");
  return [
    ...html.matchAll(
      /<(?:script type="module"[^>]*src|link rel="modulepreload"[^>]*href)="\/([^"]+)"/g,
    ),
  ].map((match) => match[1] ?? "");
}

const gzipped = (dir: string, file: string) => gzipSync(readFileSync(path.join(dir, file))).length;
const total = (dir: string, files: string[]) => files.reduce((sum, f) => sum + gzipped(dir, f), 0);

/**
 * The initial JavaScript's budget, gzipped (the README's 150 KB; 88.7 KB when error reporting
 * came, ADR 031). The reporting code a DSN adds to it is held apart, to 2 KB: the SDK itself is a
 * chunk fetched after the first render.
 */
const INITIAL_JS_BUDGET = 150_000;
const REPORTING_BUDGET = 2_048;

// The plain build (no DSN), made once: every test below reads it.
let files: string[] = [];
beforeAll(() => {
  build(out);
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

  it("stays within its initial JavaScript budget; without a DSN it has no Sentry code, with one the SDK is a chunk loaded later", {
    timeout: 60_000,
  }, () => {
    build(withDsn, { SLIPWAY_WEB_SENTRY_DSN: "https://key@o1.ingest.sentry.io/2" });
    const plain = initialScripts(out);
    const reporting = initialScripts(withDsn);
    const plainSize = total(out, plain);
    const reportingSize = total(withDsn, reporting);
    const sdk = readdirSync(path.join(withDsn, "assets")).filter((f) => /^sentry-.*\.js$/.test(f));
    const sdkSize = sdk.length === 1 ? gzipped(withDsn, `assets/${sdk[0]}`) : 0;
    const sizes = `initial JS gzip: ${plainSize} B without a DSN, ${reportingSize} B with one (+ ${sdkSize} B SDK chunk, after the first render)`;
    expect(plain.length).toBeGreaterThan(0);
    expect(plainSize, sizes).toBeLessThanOrEqual(INITIAL_JS_BUDGET);
    expect(reportingSize, sizes).toBeLessThanOrEqual(INITIAL_JS_BUDGET);
    expect(reportingSize - plainSize, sizes).toBeLessThanOrEqual(REPORTING_BUDGET);

    // Without a DSN: no SDK chunk, and nothing of Sentry's in any file.
    for (const file of readdirSync(out, { recursive: true, encoding: "utf8" }))
      if (file.endsWith(".js"))
        expect(readFileSync(path.join(out, file), "utf8"), file).not.toMatch(/sentry/i);
    // With one: the SDK is one chunk, not among the initial scripts, named only by the reporter.
    expect(sdk).toHaveLength(1);
    expect(reporting.some((file) => file.includes("sentry"))).toBe(false);
    expect(sdkSize, sizes).toBeGreaterThan(5_000);
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
