import { describe, expect, it } from "vitest";
import { SessionCache } from "./session-cache";

/**
 * The one rule of the session cache no request can show deterministically: a read of the
 * database that began before a revocation in this process is not kept when it returns after it
 * (on Postgres it may have seen the row just before the delete committed). Everything else is
 * tested through the app (auth.session-cache.test.ts).
 */
describe("session cache", () => {
  const entry = (readAt: number) => ({
    user: "u",
    userID: "usr_1",
    createdAt: 0,
    expiresAt: 10_000,
    readAt,
  });

  it("does not keep a read that began before a revocation here", () => {
    const cache = new SessionCache<string>(5_000, 10);
    const before = cache.generation();
    cache.forget(["h"]);
    cache.keep("h", entry(0), before);
    expect(cache.get("h", 0)).toBeUndefined();
    cache.keep("h", entry(0), cache.generation());
    expect(cache.get("h", 0)).toMatchObject({ userID: "usr_1" });
  });

  it("trusts an entry for the TTL from its read, and not when the clock went back", () => {
    const cache = new SessionCache<string>(5_000, 10);
    cache.keep("h", entry(1_000), cache.generation());
    expect(cache.get("h", 999)).toBeUndefined();
    cache.keep("h", entry(1_000), cache.generation());
    expect(cache.get("h", 5_999)).toBeDefined();
    expect(cache.get("h", 6_000)).toBeUndefined();
  });

  it("forgets every session of a user", () => {
    const cache = new SessionCache<string>(5_000, 10);
    cache.keep("a", entry(0), cache.generation());
    cache.keep("b", { ...entry(0), userID: "usr_2" }, cache.generation());
    cache.forget([], "usr_1");
    expect(cache.get("a", 0)).toBeUndefined();
    expect(cache.get("b", 0)).toBeDefined();
  });
});
