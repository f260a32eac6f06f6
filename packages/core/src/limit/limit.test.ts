import { describe, expect, it } from "vitest";
import { bootApp, freshDatabase, isolated } from "../../test/database";
import { cleanup } from "../maintenance/maintenance";
import { Limit } from ".";

const rule = { limit: 5, windowSeconds: 60 };
// 12:00:10 UTC: 50 s left in its minute window.
const at = new Date("2030-01-01T12:00:10Z");
const later = (ms: number) => new Date(at.getTime() + ms);

describe("rate limiter (fixed windows in Postgres)", () => {
  it("allows `limit` hits per window, refuses the next with the seconds left, and counts refused hits", () =>
    isolated(async () => {
      const outcomes = [];
      for (let i = 0; i < 7; i++) outcomes.push(await Limit.hit("k", rule, at));
      expect(outcomes.map((o) => o.allowed)).toEqual([true, true, true, true, true, false, false]);
      expect(outcomes.map((o) => o.count)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(outcomes[4]?.retryAfterSeconds).toBe(0);
      expect(outcomes[5]?.retryAfterSeconds).toBe(50);
      expect((await Limit.hit("k", rule, later(49_500))).retryAfterSeconds).toBe(1);
    }));

  it("a new window starts from zero; keys are independent", () =>
    isolated(async () => {
      for (let i = 0; i < 6; i++) await Limit.hit("a", rule, at);
      expect((await Limit.hit("a", rule, at)).allowed).toBe(false);
      expect(await Limit.hit("b", rule, at)).toEqual({
        allowed: true,
        count: 1,
        retryAfterSeconds: 0,
      });
      expect(await Limit.hit("a", rule, later(50_000))).toMatchObject({ allowed: true, count: 1 });
    }));

  it("peek says whether the next hit would pass, without counting one", () =>
    isolated(async () => {
      expect(await Limit.peek("p", rule, at)).toEqual({
        allowed: true,
        count: 0,
        retryAfterSeconds: 0,
      });
      for (let i = 0; i < 5; i++) await Limit.hit("p", rule, at);
      expect(await Limit.peek("p", rule, at)).toEqual({
        allowed: false,
        count: 5,
        retryAfterSeconds: 50,
      });
      expect(await Limit.peek("p", rule, at)).toMatchObject({ count: 5 });
      await Limit.reset("p");
      expect(await Limit.peek("p", rule, at)).toMatchObject({ allowed: true, count: 0 });
    }));

  it("lock refuses to run outside a transaction, where it would be released at once", async () => {
    await expect(Limit.lock("quota:x")).rejects.toThrow(/needs a transaction/);
  });

  it("rejects a rule it cannot apply instead of ignoring it", async () => {
    await expect(Limit.hit("r", { limit: 0, windowSeconds: 60 })).rejects.toThrow();
    await expect(Limit.hit("r", { limit: 5, windowSeconds: 0.5 })).rejects.toThrow();
  });

  it("maintenance.cleanup prunes the windows that have ended, and only those", () =>
    isolated(async () => {
      await Limit.hit("old", rule, at);
      await Limit.hit("new", rule, later(60_000));
      expect(await cleanup(later(61_000))).toMatchObject({ rateLimitWindows: 1 });
      expect(await Limit.peek("old", rule, at)).toMatchObject({ count: 0 });
      expect(await Limit.peek("new", rule, later(60_000))).toMatchObject({ count: 1 });
      expect(await cleanup(later(61_000))).toMatchObject({ rateLimitWindows: 0 });
    }));

  /**
   * Committed, on a pool of 10 connections: on Postgres (CI's second phase, TEST_DATABASE_URL)
   * the hits really run at once, so this is the run that proves the race. A read-then-write
   * limiter lets more than 5 through here; the one upsert lets exactly 5.
   */
  it("of 50 parallel hits over a limit of 5, exactly 5 are allowed", async () => {
    const fresh = await freshDatabase({ migrated: true });
    // PGlite: the fresh handle itself (one connection, serialised); Postgres: a pool of 10.
    const { migrator, config, client } = await bootApp(
      { ...fresh.env, DATABASE_POOL_MAX: "10" },
      process.env.TEST_DATABASE_URL ? undefined : fresh.handle,
    );
    await migrator.migrate((await client.database()).db, config.migrationsDir);
    // This module graph's limiter, on the booted app's database.
    const { Limit: Booted } = await import(".");
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () => Booted.hit("race", rule, at)),
    );
    expect(outcomes.filter((o) => o.allowed)).toHaveLength(5);
    expect(outcomes.map((o) => o.count).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    expect(await Booted.peek("race", rule, at)).toMatchObject({ count: 50 });
  });
});
