import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isolated } from "../../test/database";
import { startValkey, type ThrowawayValkey } from "../../test/valkey";
import { loadConfig } from "../config";
import { cleanup } from "../maintenance/maintenance";
import { namespace } from "./cache";
import { type CacheStore, MAX_KEY_LENGTH } from "./port";
import { createPostgresStore, prune } from "./postgres";
import { createValkeyStore } from "./valkey";

/**
 * One contract, both stores: the Postgres table (each test rolled back) and a real Redis server
 * started for this file, plain (offline's CACHE_URL) and in cluster mode over TLS (deployed). `expire` makes an entry's TTL pass: the Postgres store's clock is
 * moved; the server's cannot be, so its entries get a TTL of 50 ms and are awaited (polled).
 */
interface Subject {
  name: string;
  store: () => CacheStore;
  run: (fn: () => Promise<void>) => Promise<void>;
  shortTtlSeconds: number;
  expire: (read: () => Promise<unknown>) => Promise<void>;
}

let clock = new Date("2030-01-01T12:00:00Z");
const postgres = createPostgresStore({ now: () => clock });
let valkey: ThrowawayValkey;
let valkeyStore: CacheStore;
let cluster: ThrowawayValkey;
let clusterStore: CacheStore;

beforeAll(async () => {
  // One after the other: a server that fails to start leaves the one before it to afterAll.
  valkey = await startValkey();
  cluster = await startValkey({ cluster: true });
  valkeyStore = createValkeyStore({ kind: "valkey", mode: "single", url: valkey.url });
  // As deployed (config's linked Cache): the cluster client over TLS.
  clusterStore = createValkeyStore(
    { kind: "valkey", mode: "cluster", host: cluster.host, port: cluster.port },
    { tls: { ca: cluster.ca } },
  );
});
afterAll(async () => {
  await Promise.all([valkeyStore?.close(), clusterStore?.close()]);
  await Promise.all([valkey?.stop(), cluster?.stop()]);
});

async function untilGone(read: () => Promise<unknown>) {
  const deadline = Date.now() + 5000;
  while ((await read()) !== undefined) {
    if (Date.now() > deadline) throw new Error("entry did not expire");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Redis's clock cannot be stopped: an entry must outlive the round trips between its set and the
 * read that finds it (a 50 ms TTL expired first once, on a machine at load 5), and then expire.
 */
const REDIS_SHORT_TTL_SECONDS = 0.6;

let unique = 0;
const subjects: Subject[] = [
  {
    name: "Postgres (UNLOGGED table)",
    store: () => postgres,
    run: (fn) => isolated(fn),
    shortTtlSeconds: 60,
    async expire() {
      clock = new Date(clock.getTime() + 60_000);
    },
  },
  {
    name: "Valkey protocol (real redis-server)",
    store: () => valkeyStore,
    run: (fn) => fn(),
    shortTtlSeconds: REDIS_SHORT_TTL_SECONDS,
    expire: untilGone,
  },
  {
    name: "Valkey cluster mode over TLS (redis-server as ElastiCache Serverless shows itself)",
    store: () => clusterStore,
    run: (fn) => fn(),
    shortTtlSeconds: REDIS_SHORT_TTL_SECONDS,
    expire: untilGone,
  },
];

describe.each(subjects)("cache port on $name", (subject) => {
  // A namespace per test: the Redis server is shared by the file's tests.
  const cache = () => namespace(`t${++unique}`, async () => subject.store());

  it("get after set returns the same JSON; missing is undefined; delete forgets", () =>
    subject.run(async () => {
      const c = cache();
      const value = {
        title: "Ünïcode \u0000 nul, lone \ud800 surrogate, 😀",
        n: 1.5,
        list: [1, "two", null, true, { deep: [] }],
      };
      expect(await c.get("missing")).toBeUndefined();
      await c.set("k", value, { ttlSeconds: 60 });
      expect(await c.get("k")).toEqual(value);
      await c.set("k", "replaced", { ttlSeconds: 60 });
      expect(await c.get("k")).toBe("replaced");
      await c.delete("k");
      expect(await c.get("k")).toBeUndefined();
      await c.delete("never-set");
    }));

  it("namespaces never read each other's keys", () =>
    subject.run(async () => {
      const [a, b] = [cache(), cache()];
      await a.set("same", "a", { ttlSeconds: 60 });
      expect(await b.get("same")).toBeUndefined();
      await b.set("same", "b", { ttlSeconds: 60 });
      expect(await a.get("same")).toBe("a");
    }));

  it("an entry is gone once its TTL has passed, and a set renews it", () =>
    subject.run(async () => {
      const c = cache();
      await c.set("short", 1, { ttlSeconds: subject.shortTtlSeconds });
      await c.set("long", 2, { ttlSeconds: 3600 });
      expect(await c.get("short")).toBe(1);
      await subject.expire(() => c.get("short"));
      expect(await c.get("short")).toBeUndefined();
      expect(await c.get("long")).toBe(2);
      await c.set("short", 3, { ttlSeconds: 60 });
      expect(await c.get("short")).toBe(3);
    }));

  it("getOrSet computes once on a miss, then serves the cached value; concurrent misses share one compute", () =>
    subject.run(async () => {
      const c = cache();
      let computed = 0;
      const compute = async () => {
        computed++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return { computed };
      };
      const results = await Promise.all(
        Array.from({ length: 10 }, () => c.getOrSet("k", { ttlSeconds: 60 }, compute)),
      );
      expect(computed).toBe(1);
      expect(results).toEqual(Array(10).fill({ computed: 1 }));
      expect(await c.getOrSet("k", { ttlSeconds: 60 }, compute)).toEqual({ computed: 1 });
      expect(computed).toBe(1);
      // A compute that fails caches nothing and the next call tries again.
      await expect(
        c.getOrSet("bad", { ttlSeconds: 60 }, async () => Promise.reject(new Error("boom"))),
      ).rejects.toThrow("boom");
      expect(await c.getOrSet("bad", { ttlSeconds: 60 }, async () => "ok")).toBe("ok");
    }));

  it("increment counts atomically in a fixed window, and starts again at 1 once it expired", () =>
    subject.run(async () => {
      const c = cache();
      expect(await c.increment("n", { ttlSeconds: subject.shortTtlSeconds })).toBe(1);
      expect(await c.increment("n", { ttlSeconds: 3600 })).toBe(2);
      // A later increment does not extend the window: the first TTL still ends it.
      await subject.expire(() => c.get("n"));
      expect(await c.increment("n", { ttlSeconds: 3600 })).toBe(1);
      expect(await c.get("n")).toBe(1);
      // Concurrent increments never read the same count (Postgres: one connection in a test's
      // transaction runs them one at a time; Valkey: one server-side command each).
      const counts = await Promise.all(
        Array.from({ length: 20 }, () => c.increment("race", { ttlSeconds: 60 })),
      );
      expect([...counts].sort((a, b) => a - b)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    }));

  it("refuses values that would not read back as written, bad TTLs and bad keys, storing nothing", () =>
    subject.run(async () => {
      const c = cache();
      for (const value of [
        undefined,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        -0,
        new Date(0),
        { a: undefined },
        [() => 1],
      ]) {
        // biome-ignore lint/suspicious/noExplicitAny: values outside the Json type on purpose
        await expect(c.set("v", value as any, { ttlSeconds: 60 })).rejects.toThrow(TypeError);
      }
      for (const ttlSeconds of [0, -1, Number.NaN, 31 * 24 * 3600]) {
        await expect(c.set("v", 1, { ttlSeconds })).rejects.toThrow(/ttlSeconds/);
      }
      await expect(c.set("", 1, { ttlSeconds: 60 })).rejects.toThrow(/key/);
      await expect(c.getOrSet("", { ttlSeconds: 60 }, async () => 1)).rejects.toThrow(/key/);
      await expect(c.getOrSet("k", { ttlSeconds: 0 }, async () => 1)).rejects.toThrow(/ttl/);
      await expect(c.set("x".repeat(MAX_KEY_LENGTH), 1, { ttlSeconds: 60 })).rejects.toThrow(/key/);
      expect(await c.get("v")).toBeUndefined();
    }));
});

describe("cache port", () => {
  it("a namespace must be a short lowercase name", () => {
    for (const name of ["", "Upper", "has:colon", "1digit", "x".repeat(41)]) {
      expect(() => namespace(name)).toThrow(/namespace/);
    }
  });

  it("getOrSet serves compute()'s value when the store is away, and logs instead of failing", async () => {
    const away: CacheStore = {
      get: () => Promise.reject(new Error("connection refused")),
      set: () => Promise.reject(new Error("connection refused")),
      delete: () => Promise.reject(new Error("connection refused")),
      increment: () => Promise.reject(new Error("connection refused")),
      close: async () => {},
    };
    const c = namespace("away", async () => away);
    expect(await c.getOrSet("k", { ttlSeconds: 60 }, async () => 42)).toBe(42);
    await expect(c.get("k")).rejects.toThrow("connection refused");
  });

  it("an unreachable Valkey fails a command within the command timeout, not after retries", async () => {
    const dead = createValkeyStore({ kind: "valkey", mode: "single", url: "redis://127.0.0.1:1" });
    const started = Date.now();
    await expect(dead.get("k")).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2000);
    await dead.close();
  });

  it("maintenance.cleanup sweeps expired Postgres entries and keeps live ones", () =>
    isolated(async () => {
      const at = new Date("2030-06-01T00:00:00Z");
      const store = createPostgresStore({ now: () => at });
      await store.set("sweep:old", "1", 1000);
      await store.set("sweep:new", "2", 3_600_000);
      const result = await cleanup(new Date(at.getTime() + 60_000));
      expect(result.cacheEntries).toBe(1);
      expect(await prune(new Date(at.getTime() + 60_000))).toBe(0);
      expect(await store.get("sweep:new")).toBe("2");
    }));

  it("config picks the store: Postgres by default, CACHE_URL, the linked Cache over TLS; a bad URL is an error naming it", () => {
    expect(loadConfig({}, {}).cache).toEqual({ kind: "postgres" });
    expect(loadConfig({ CACHE_URL: "redis://127.0.0.1:6379" }, {}).cache).toEqual({
      kind: "valkey",
      mode: "single",
      url: "redis://127.0.0.1:6379",
    });
    expect(
      loadConfig({}, { Cache: { host: "c.serverless.use1.cache.amazonaws.com", port: 6379 } })
        .cache,
    ).toEqual({
      kind: "valkey",
      mode: "cluster",
      host: "c.serverless.use1.cache.amazonaws.com",
      port: 6379,
    });
    expect(() => loadConfig({ CACHE_URL: "http://secret@host" }, {})).toThrow(
      /CACHE_URL: expected a redis:\/\/ or rediss:\/\/ URL \(got 18 characters\)/,
    );
    expect(() => loadConfig({}, { Cache: { host: "" } })).toThrow(/Resource.Cache/);
  });
});
