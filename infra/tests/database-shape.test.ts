import { describe, expect, it } from "vitest";
import { databaseOptions } from "../database-shape";
import { stageShape } from "../stage-shape";

/**
 * The database switches of ADR 035 (SLIPWAY_DATABASE, SLIPWAY_DB_PROXY, SLIPWAY_DB_BLUE_GREEN)
 * and their combination rules, without evaluating the config (graph.test.ts evaluates each
 * variant and checks its resources).
 */

const options = (env: Record<string, string>, stage = "production") =>
  databaseOptions(env, stage, stageShape(stage, undefined));

describe("the database switches", () => {
  it("unset: one RDS instance, no proxy, no blue/green", () => {
    expect(options({})).toEqual({ engine: "rds", proxy: false, blueGreen: false });
    expect(options({ SLIPWAY_DATABASE: "rds", SLIPWAY_DB_PROXY: "false" })).toEqual({
      engine: "rds",
      proxy: false,
      blueGreen: false,
    });
  });

  it("refuses a value it does not know, naming the variable and the value", () => {
    expect(() => options({ SLIPWAY_DATABASE: "aurora" })).toThrow(
      'SLIPWAY_DATABASE must be rds or aurora-serverless (or unset), got "aurora"',
    );
    expect(() => options({ SLIPWAY_DB_PROXY: "yes" })).toThrow(
      'SLIPWAY_DB_PROXY must be "true" or "false", got "yes"',
    );
    expect(() => options({ SLIPWAY_DB_BLUE_GREEN: "1" })).toThrow(
      'SLIPWAY_DB_BLUE_GREEN must be "true" or "false", got "1"',
    );
  });

  it("Aurora: production never pauses (0.5-4 ACU); other stages pause after 5 idle minutes (0-4)", () => {
    expect(options({ SLIPWAY_DATABASE: "aurora-serverless" }).aurora).toEqual({
      minAcu: 0.5,
      maxAcu: 4,
    });
    expect(options({ SLIPWAY_DATABASE: "aurora-serverless" }, "staging").aurora).toEqual({
      minAcu: 0,
      maxAcu: 4,
      pauseAfterSeconds: 300,
    });
  });

  it("Aurora with a proxy: allowed, and never set to pause (the proxy's connections keep it awake)", () => {
    expect(
      options({ SLIPWAY_DATABASE: "aurora-serverless", SLIPWAY_DB_PROXY: "true" }, "staging"),
    ).toEqual({
      engine: "aurora-serverless",
      proxy: true,
      blueGreen: false,
      aurora: { minAcu: 0.5, maxAcu: 4 },
    });
  });

  it("blue/green: RDS only, and never with a proxy", () => {
    expect(options({ SLIPWAY_DB_BLUE_GREEN: "true" })).toEqual({
      engine: "rds",
      proxy: false,
      blueGreen: true,
    });
    expect(() => options({ SLIPWAY_DB_BLUE_GREEN: "true", SLIPWAY_DB_PROXY: "true" })).toThrow(
      "SLIPWAY_DB_BLUE_GREEN=true cannot be used with SLIPWAY_DB_PROXY=true (SST documents",
    );
    expect(() =>
      options({ SLIPWAY_DB_BLUE_GREEN: "true", SLIPWAY_DATABASE: "aurora-serverless" }),
    ).toThrow("SLIPWAY_DB_BLUE_GREEN=true is for SLIPWAY_DATABASE=rds");
  });

  it("a preview sharing its base's database may set none of them; a standalone one may", () => {
    expect(() => options({ SLIPWAY_DB_PROXY: "true" }, "pr-7")).toThrow(
      "SLIPWAY_DB_PROXY: pr-7 shares staging's database, which decides them",
    );
    expect(() =>
      options({ SLIPWAY_DATABASE: "rds", SLIPWAY_DB_BLUE_GREEN: "false" }, "pr-7"),
    ).toThrow("SLIPWAY_DATABASE, SLIPWAY_DB_BLUE_GREEN: pr-7 shares staging's database");
    expect(options({}, "pr-7")).toEqual({ engine: "rds", proxy: false, blueGreen: false });
    expect(
      databaseOptions(
        { SLIPWAY_DATABASE: "aurora-serverless" },
        "pr-7",
        stageShape("pr-7", "standalone"),
      ).aurora,
    ).toEqual({ minAcu: 0, maxAcu: 4, pauseAfterSeconds: 300 });
  });
});
