import { describe, expect, it } from "vitest";
import { databaseRecipe } from "../../scripts/db/recipe";
import { linkURL } from "../../scripts/db/url";
import {
  COMMENT_MARKER,
  diffSummary,
  previewComment,
  previewStage,
  staleStages,
} from "../../scripts/preview/preview";
import { appRoleName, stageDatabaseName, stageShape } from "../stage-shape";

/**
 * The stage conventions of ADR 026 and the scripts of the preview workflow and the database
 * recipe, without evaluating the config (the graph test evaluates pr-42 once).
 */

describe("stage shapes", () => {
  it("production and staging own their network and database, and refuse a base", () => {
    expect(stageShape("production", undefined)).toEqual({ kind: "production" });
    expect(stageShape("staging", "")).toEqual({ kind: "staging" });
    expect(() => stageShape("production", "staging")).toThrow("production owns its network");
    expect(() => stageShape("staging", "standalone")).toThrow(
      "SLIPWAY_BASE_STAGE is for preview stages",
    );
  });

  it("every other stage is a preview on staging, another base, or standalone", () => {
    expect(stageShape("pr-42", undefined)).toEqual({ kind: "preview", base: "staging" });
    expect(stageShape("frank", "qa")).toEqual({ kind: "preview", base: "qa" });
    expect(stageShape("frank", "standalone")).toEqual({ kind: "preview" });
  });

  it("production is never a base, nor a stage its own", () => {
    expect(() => stageShape("pr-1", "production")).toThrow("production never shares");
    expect(() => stageShape("qa", "qa")).toThrow("cannot be its own base");
    expect(() => stageShape("qa", "a b")).toThrow("must be a stage name");
  });

  it("a preview's database and app role are named after the stage, within Postgres's 63 bytes", () => {
    expect(stageDatabaseName("slipway", "pr-42")).toBe("slipway_pr_42");
    expect(stageDatabaseName("slipway", "Frank.Dev")).toBe("slipway_frank_dev");
    expect(appRoleName({ kind: "preview", base: "staging" }, "slipway_pr_42")).toBe(
      "slipway_pr_42_app",
    );
    expect(appRoleName({ kind: "staging" }, "slipway")).toBe("slipway_app");
    const long = stageDatabaseName("slipway", `feature-${"x".repeat(80)}`);
    const other = stageDatabaseName("slipway", `feature-${"x".repeat(79)}y`);
    expect(`${long}_app`.length).toBeLessThanOrEqual(63);
    expect(long).not.toBe(other);
    expect(long).toMatch(/^[a-z_][a-z0-9_]*$/);
  });
});

describe("the preview workflow's scripts", () => {
  it("removes the pr-* stages whose pull request is not open, and nothing else", () => {
    const keys = [
      "app/slipway/production.json",
      "app/slipway/staging.json",
      "app/slipway/pr-7.json",
      "app/slipway/pr-8.json",
      "app/slipway/pr-8.json.backup",
      "app/slipway/pr-9.json",
      "app/slipway/frank.json",
      "app/other/pr-10.json",
      "app/slipway/pr-0.json",
    ];
    expect(staleStages("slipway", keys, [8])).toEqual(["pr-7", "pr-9"]);
    expect(staleStages("slipway", keys, [7, 8, 9])).toEqual([]);
  });

  it("names the stage of a pull request, and only of one", () => {
    expect(previewStage(42)).toBe("pr-42");
    expect(() => previewStage(0)).toThrow("not a pull request number");
  });

  it("comments the site, the cost and the diff's changes, marked so the next push updates it", () => {
    const diff = [
      "\u001b[1mSST 4.17.1\u001b[0m ready!",
      "   +  Api sst:aws:Service",
      "   ~  MigratorInvocation aws:lambda/invocation:Invocation",
      "   -  Old aws:sns/topic:Topic",
      "  3 to create, 1 to update, 40 unchanged",
      "some log line",
    ].join("\n");
    expect(diffSummary(diff)).toEqual([
      "  3 to create, 1 to update, 40 unchanged",
      "   +  Api sst:aws:Service",
      "   ~  MigratorInvocation aws:lambda/invocation:Invocation",
      "   -  Old aws:sns/topic:Topic",
    ]);
    const body = previewComment({
      stage: "pr-42",
      url: "https://d111.cloudfront.net",
      diff,
      cost: "…\npr-42, deployed: $2.37 a month idle, $0.0032 an hour\nthe same stage standalone (…): $30.79 a month idle\n",
      commit: "0123456789abcdef",
    });
    expect(body.startsWith(COMMENT_MARKER)).toBe(true);
    expect(body).toContain("Preview `pr-42` at 0123456");
    expect(body).toContain("Site: https://d111.cloudfront.net");
    expect(body).toContain("Cost: pr-42, deployed: $2.37 a month idle");
    expect(body).toContain("standalone (…): $30.79");
    expect(body).toContain("   +  Api sst:aws:Service");
    expect(body).not.toContain("some log line");
  });
});

describe("reaching a deployed database (npm run db:recipe)", () => {
  it("a preview tunnels through its base's bastion to its own database", () => {
    const recipe = databaseRecipe("pr-42");
    expect(recipe).toMatchObject({ network: "staging", database: "slipway_pr_42" });
    const text = recipe.lines.join("\n");
    expect(text).toContain("npx sst tunnel --stage staging");
    expect(text).toContain(
      "SLIPWAY_BASTION=true SLIPWAY_BASTION_CIDR=<your-ip>/32 npx sst deploy --stage staging",
    );
    // The stage's own links (its owner, its app role), over verified TLS.
    expect(text).toContain("npx sst shell --stage pr-42 -- sh -c 'psql");
    expect(text).toContain("scripts/db/url.ts AppDatabase");
    expect(text).toContain("scripts/db/url.ts Database");
    expect(text).toContain("drizzle-kit studio --config drizzle.studio.config.ts");
    expect(text).toContain("aws lambda invoke --function-name");
  });

  it("a stage that owns its VPC tunnels through its own bastion", () => {
    expect(databaseRecipe("staging")).toMatchObject({ network: "staging", database: "slipway" });
    expect(databaseRecipe("production").lines.join("\n")).toContain(
      "npx sst tunnel --stage production",
    );
    const standalone = databaseRecipe("frank", "standalone");
    expect(standalone).toMatchObject({ network: "frank", database: "slipway" });
    expect(standalone.lines.join("\n")).toContain(
      "SLIPWAY_BASE_STAGE=standalone npx sst shell --stage frank",
    );
  });

  it("builds the psql URL from a link, TLS verified against the RDS CA bundle", () => {
    const url = linkURL(
      {
        host: "db.example",
        port: 5432,
        username: "slipway_pr_42_app",
        password: "p@ss/w:rd",
        database: "slipway_pr_42",
      },
      "/repo/.data/rds-ca.pem",
    );
    expect(url).toBe(
      "postgres://slipway_pr_42_app:p%40ss%2Fw%3Ard@db.example:5432/slipway_pr_42?sslmode=verify-full&sslrootcert=%2Frepo%2F.data%2Frds-ca.pem",
    );
  });

  it("each printed shell line is valid sh (sh -n)", async () => {
    const { execFileSync } = await import("node:child_process");
    for (const line of databaseRecipe("pr-42").lines.filter((l) => !l.startsWith("#")))
      expect(() =>
        execFileSync("sh", ["-n", "-c", line.replace("<your-ip>", "203.0.113.7")]),
      ).not.toThrow();
  });
});
