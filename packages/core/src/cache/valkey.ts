import type { ConnectionOptions } from "node:tls";
import { Cluster, Redis } from "ioredis";
import type { CacheStore } from "./port";

/**
 * The Valkey/Redis cache store (ioredis). Offline and in tests: one server at `url`
 * (`redis://` or `rediss://`). Deployed: ElastiCache Serverless, which runs in cluster mode and
 * only over TLS (ADR 033), so the linked endpoint is reached with the cluster client over TLS;
 * a serverless cache shows all its slots on one virtual node, so this costs no extra hops.
 */
export type ValkeySettings =
  | { kind: "valkey"; mode: "single"; url: string }
  | { kind: "valkey"; mode: "cluster"; host: string; port: number };

/** A command waits this long at most, so a cache that is away slows a request by no more. */
const COMMAND_TIMEOUT_MS = 500;

/** `tls` adds to the cluster client's TLS options (tests: the throwaway server's certificate). */
export function createValkeyStore(
  settings: ValkeySettings,
  { tls = {} }: { tls?: ConnectionOptions } = {},
): CacheStore {
  const common = {
    commandTimeout: COMMAND_TIMEOUT_MS,
    // Fail a command at once while disconnected rather than queue it behind a reconnect:
    // getOrSet then computes the value itself (cache.ts).
    maxRetriesPerRequest: 0,
    lazyConnect: false,
  };
  const client =
    settings.mode === "single"
      ? new Redis(settings.url, common)
      : new Cluster([{ host: settings.host, port: settings.port }], {
          // TLS checks the certificate against the endpoint's name, which the cluster's node
          // addresses (IPs) would not match: keep the name.
          dnsLookup: (address, callback) => callback(null, address),
          redisOptions: { ...common, tls },
          slotsRefreshTimeout: 2000,
        });
  // Without a listener an unreachable server is an uncaught "error" event; commands report it.
  client.on("error", () => {});
  return {
    async get(key) {
      return (await client.get(key)) ?? undefined;
    },
    async set(key, value, ttlMs) {
      await client.set(key, value, "PX", ttlMs);
    },
    async delete(key) {
      await client.del(key);
    },
    async increment(key, ttlMs) {
      // One transaction on one key (one slot): create it at 0 with its TTL if absent, then INCR,
      // which keeps the TTL.
      const replies = await client.multi().set(key, "0", "PX", ttlMs, "NX").incr(key).exec();
      const [error, count] = replies?.[1] ?? [new Error("the transaction was discarded")];
      if (error) throw error;
      return Number(count);
    },
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
