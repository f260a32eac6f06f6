import { sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { bootApp, freshDatabase } from "../../test/database";
import { errorOf } from "../../test/http";
import { startValkey, type ThrowawayValkey } from "../../test/valkey";

/**
 * The write rate counted on Valkey (a stage with SLIPWAY_CACHE=valkey; here CACHE_URL to a real
 * redis-server): the same limit, message and Retry-After as on Postgres (quotas.security.test.ts),
 * with no rate_limit row written; with the cache away, counted in Postgres instead.
 */
let valkey: ThrowawayValkey;
beforeAll(async () => {
  valkey = await startValkey();
});
afterAll(async () => {
  await valkey?.stop();
});
afterEach(() => {
  vi.useRealTimers();
});

async function appWith(env: Record<string, string>) {
  const fresh = await freshDatabase({ migrated: true });
  const booted = await bootApp(
    { ...fresh.env, QUOTA_WRITES_PER_MINUTE: "3", ...env },
    process.env.TEST_DATABASE_URL ? undefined : fresh.handle,
  );
  await booted.migrator.migrate((await booted.client.database()).db, booted.config.migrationsDir);
  const [helpers, cache, client, transaction] = await Promise.all([
    import("../../test/app"),
    import("../cache/cache"),
    import("../db/client"),
    import("../db/transaction"),
  ]);
  /** The write-rate counts in the rate_limit table (`writes:<user>` rows). */
  const writeRows = async () => {
    const rows = await transaction.useTransaction((tx) =>
      client.queryRows<{ count: number }>(
        tx,
        sql`select count::int from rate_limit where key like 'writes:%'`,
      ),
    );
    return rows.map((row) => row.count);
  };
  return { ...helpers, writeRows, closeCache: cache.closeCache };
}

describe("write rate on Valkey", () => {
  it("the 4th write in a minute is a 429 with Retry-After, counted on Valkey, not in rate_limit; the next minute starts afresh", async () => {
    const start = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 10_000);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(start);
    const t = await appWith({ CACHE_URL: valkey.url });
    const alice = t.as((await t.signupUser()).cookie);
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await alice.send("POST", "/api/notes", { title: `note ${i}` })).status);
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
    const refused = await alice.send("POST", "/api/notes", { title: "again" });
    expect(refused.headers.get("retry-after")).toBe("50");
    expect(await errorOf(refused)).toEqual({
      code: "rate_limited",
      message: "Too many changes: at most 3 a minute; try again in 50 s",
      details: { limit: 3, windowSeconds: 60, retryAfterSeconds: 50 },
    });
    expect(await t.writeRows()).toEqual([]);
    vi.setSystemTime(new Date(start.getTime() + 50_000));
    expect((await alice.send("POST", "/api/notes", { title: "next minute" })).status).toBe(201);
    await t.closeCache();
  });

  it("with Valkey away, writes are still limited, counted in Postgres", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date(Math.floor(Date.now() / 60_000) * 60_000 + 10_000));
    const t = await appWith({ CACHE_URL: "redis://127.0.0.1:1" });
    const alice = t.as((await t.signupUser()).cookie);
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await alice.send("POST", "/api/notes", { title: `note ${i}` })).status);
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
    expect(await t.writeRows()).toEqual([4]);
    await t.closeCache();
  });
});
