import { describe, expect, it } from "vitest";
import { evaluate } from "../../scripts/infra/evaluate";
import { violations } from "./invariants";

/**
 * A deploy while `npm run scale` has an override active (ADR 032): the account's SSM holds the
 * CLI's record, as the mocks answer infra/api.ts's lookup.
 */
const PARAMETER = "/slipway/production/scaling/api-override";
const record = (configured: { min: number; max: number }, until: string | null) =>
  JSON.stringify({
    min: 4,
    max: 8,
    until,
    configured,
    setAt: "2026-12-20T12:00:00.000Z",
    setBy: "ops",
  });
const secrets = { SentryDsn: "https://public@o0.ingest.sentry.io/1" };

describe("a deploy during a scaling override", () => {
  it("keeps the override's bounds on the scalable target, and the graph's checks hold", async () => {
    const graph = await evaluate({
      stage: "production",
      variables: {},
      secrets,
      ssmParameters: { [PARAMETER]: record({ min: 1, max: 4 }, "2999-01-01T00:00:00.000Z") },
    });
    const target = graph.resources.find((r) => r.type === "aws:appautoscaling/target:Target");
    expect([target?.inputs.minCapacity, target?.inputs.maxCapacity]).toEqual([4, 8]);
    // The bounds the override returns to (and the CLI's link) stay the configured ones.
    const link = graph.resources.find((r) => r.name === "ApiScalingLinkRef");
    expect(link?.inputs.properties).toMatchObject({ min: 1, max: 4, cap: 8 });
    const scaling = violations(graph, "production").filter((v) => v.startsWith("api scaling"));
    expect(scaling).toEqual([]);
  }, 300_000);

  it("is refused, naming the override and the way out, when it would change the configured bounds", async () => {
    await expect(
      evaluate({
        stage: "production",
        variables: {},
        secrets,
        ssmParameters: { [PARAMETER]: record({ min: 2, max: 4 }, null) },
      }),
    ).rejects.toThrow(
      /A scaling override is active on production \(min 4, max 8, no end\), set when the stage was configured min 2 max 4; this deploy configures min 1 max 4\. Run `npm run scale -- --stage production --reset`/,
    );
  }, 300_000);
});
