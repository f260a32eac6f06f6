/**
 * The cache port: what the app may ask of a cache, and what both adapters implement (Postgres,
 * the default, ./postgres.ts; Valkey/Redis, ./valkey.ts). It imports no adapter; ./cache.ts picks
 * one from config. Values are JSON (what `JSON.stringify` keeps, byte for byte alike on both
 * adapters); keys are namespaced per use (`namespace("digest")` → `digest:<key>`), so two uses
 * never read each other's entries. A cache may forget anything at any time: callers keep the
 * truth in the database and read through `getOrSet`.
 */

/** JSON as `JSON.parse` returns it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface CacheStore {
  /** The value, or undefined when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Stores `value` (JSON text) for `ttlMs` milliseconds, replacing any entry. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Deleting a missing entry succeeds. */
  delete(key: string): Promise<void>;
  /**
   * Adds one to the counter at `key` and returns it, atomically: an absent or expired counter
   * starts at 1 and lives `ttlMs`; a live one keeps its expiry (a fixed window).
   */
  increment(key: string, ttlMs: number): Promise<number>;
  /** Releases connections (the Valkey client); the Postgres store has none of its own. */
  close(): Promise<void>;
}

export interface Cache {
  get<T extends Json>(key: string): Promise<T | undefined>;
  /** `ttlSeconds` may be fractional (millisecond precision), at least 0.001 and at most 30 days. */
  set(key: string, value: Json, options: { ttlSeconds: number }): Promise<void>;
  delete(key: string): Promise<void>;
  /** A counter for a fixed window: 1 when absent or expired (then it lives `ttlSeconds`), else +1. */
  increment(key: string, options: { ttlSeconds: number }): Promise<number>;
  /**
   * The cached value, else `compute()`'s, stored for `ttlSeconds`. Concurrent misses for one key
   * in this process share one `compute` (single flight). A cache that fails (Valkey away) is
   * logged and skipped: the caller gets `compute()`'s value, never the cache's error.
   */
  getOrSet<T extends Json>(
    key: string,
    options: { ttlSeconds: number },
    compute: () => Promise<T>,
  ): Promise<T>;
}

/** Longest key, namespace included (Valkey takes 512 MB; a short bound keeps the index small). */
export const MAX_KEY_LENGTH = 512;
/** Longest TTL: a cache entry is never a store of record. */
export const MAX_TTL_SECONDS = 30 * 24 * 3600;
