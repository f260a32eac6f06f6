import { config } from "../config";
import { log } from "../log";
import { type Cache, type CacheStore, type Json, MAX_KEY_LENGTH, MAX_TTL_SECONDS } from "./port";

/**
 * Picks the cache store from config (the only file that imports the adapters) and puts the
 * port's rules over it: namespaced keys, JSON values, TTL bounds, single-flight `getOrSet`.
 */

let current: Promise<CacheStore> | undefined;

/** The process's store: Valkey when configured (CACHE_URL or the linked Cache), else Postgres. */
export function cacheStore(): Promise<CacheStore> {
  current ??= (async () => {
    const settings = config().cache;
    // Loaded on first use: the Valkey client is ~100 KB the Postgres default never needs.
    if (settings.kind === "valkey") {
      const { createValkeyStore } = await import("./valkey");
      return createValkeyStore(settings);
    }
    const { createPostgresStore } = await import("./postgres");
    return createPostgresStore();
  })();
  return current;
}

/** Tests: use this store instead of the configured one (undefined: back to config). */
export function setCacheStore(value: CacheStore | undefined) {
  current = value ? Promise.resolve(value) : undefined;
}

/** Closes the configured store if one was opened (entry points, at shutdown). */
export async function closeCache(): Promise<void> {
  const opened = current;
  current = undefined;
  if (opened) await (await opened).close();
}

const NAMESPACE = /^[a-z][a-z0-9-]{0,39}$/;

/**
 * The cache of one use: every key is `<name>:<key>`. `store` defaults to the configured one
 * (resolved on each call, so `setCacheStore` in a test applies to caches made at import).
 */
export function namespace(name: string, store?: () => Promise<CacheStore>): Cache {
  if (!NAMESPACE.test(name)) {
    throw new Error(
      `cache namespace must be lowercase letters, digits and -, starting with a letter (got ${JSON.stringify(name)})`,
    );
  }
  const resolve = store ?? cacheStore;
  const inFlight = new Map<string, Promise<Json>>();
  const full = (key: string) => {
    const value = `${name}:${key}`;
    if (key.length === 0 || value.length > MAX_KEY_LENGTH) {
      throw new RangeError(
        `cache key must be 1 to ${MAX_KEY_LENGTH - name.length - 1} characters (got ${key.length})`,
      );
    }
    return value;
  };

  const get = async <T extends Json>(key: string): Promise<T | undefined> => {
    const text = await (await resolve()).get(full(key));
    return text === undefined ? undefined : (JSON.parse(text) as T);
  };
  const set = async (key: string, value: Json, { ttlSeconds }: { ttlSeconds: number }) => {
    const fullKey = full(key);
    const ttlMs = ttlOf(ttlSeconds);
    await (await resolve()).set(fullKey, encode(value, fullKey), ttlMs);
  };

  return {
    get,
    set,
    async delete(key) {
      await (await resolve()).delete(full(key));
    },
    async increment(key, { ttlSeconds }) {
      const fullKey = full(key);
      return (await resolve()).increment(fullKey, ttlOf(ttlSeconds));
    },
    // async, so a bad key or TTL is a rejection like the other verbs', not a synchronous throw.
    async getOrSet<T extends Json>(
      key: string,
      options: { ttlSeconds: number },
      compute: () => Promise<T>,
    ): Promise<T> {
      const fullKey = full(key);
      ttlOf(options.ttlSeconds);
      const pending = inFlight.get(fullKey);
      if (pending) return pending as Promise<T>;
      const run = (async () => {
        try {
          const hit = await get<T>(key);
          if (hit !== undefined) return hit;
        } catch (error) {
          log.warn("cache read failed; computing instead", { key: fullKey, error });
          return compute();
        }
        const value = await compute();
        try {
          await set(key, value, options);
        } catch (error) {
          // A value that is not JSON is the caller's bug, not the cache's: it is thrown.
          if (error instanceof TypeError) throw error;
          log.warn("cache write failed; value served uncached", { key: fullKey, error });
        }
        return value;
      })().finally(() => inFlight.delete(fullKey));
      inFlight.set(fullKey, run);
      return run;
    },
  };
}

function ttlOf(ttlSeconds: number): number {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0.001 || ttlSeconds > MAX_TTL_SECONDS) {
    throw new RangeError(
      `cache ttlSeconds must be from 0.001 to ${MAX_TTL_SECONDS} (got ${ttlSeconds})`,
    );
  }
  return Math.max(1, Math.round(ttlSeconds * 1000));
}

function encode(value: Json, key: string): string {
  // JSON.stringify drops undefined and functions silently and turns NaN into null: refuse what
  // would not read back as written.
  const text = JSON.stringify(value);
  if (text === undefined || !sameJson(value)) {
    throw new TypeError(`cache value for ${key} is not JSON that reads back as written`);
  }
  return text;
}

function sameJson(value: unknown): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every(sameJson);
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value).every((item) => item !== undefined && sameJson(item));
  }
  return false;
}
