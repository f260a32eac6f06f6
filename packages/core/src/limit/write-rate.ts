import { createMiddleware } from "hono/factory";
import { useActor } from "../actor";
import { namespace } from "../cache/cache";
import { config } from "../config";
import { AppError } from "../error";
import { log } from "../log";
import { hit, type Outcome } from "./limit";

const unsafe = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The per-user write rate: every unsafe request by a signed-in user counts one hit on
 * `writes:<user id>`, and past QUOTA_WRITES_PER_MINUTE in a minute it is a 429 with Retry-After
 * before any handler runs (nothing is written). Mounted after the session middleware, which sets
 * the actor. The auth routes are not counted: sign-in and sign-up have their own per-address
 * limits, and signing out must always work. The hit commits on its own (a request opens no
 * transaction), so a request that fails later still counts.
 */
export const writeRateMiddleware = createMiddleware(async (c, next) => {
  const actor = useActor();
  if (actor.type !== "user" || !unsafe.has(c.req.method) || c.req.path.startsWith("/api/auth/")) {
    return next();
  }
  const limit = config().quotas.writesPerMinute;
  const outcome =
    config().cache.kind === "valkey"
      ? await hitOnValkey(actor.userID, limit)
      : await hit(`writes:${actor.userID}`, { limit, windowSeconds: 60 });
  if (!outcome.allowed) {
    throw new AppError(
      "rate_limited",
      `Too many changes: at most ${limit} a minute; try again in ${outcome.retryAfterSeconds} s`,
      { limit, windowSeconds: 60, retryAfterSeconds: outcome.retryAfterSeconds },
    );
  }
  return next();
});

const writes = namespace("writes");
const WINDOW_MS = 60_000;

/**
 * The same fixed minute window as `hit`, counted on Valkey (SLIPWAY_CACHE=valkey) instead of the
 * rate_limit table: one INCR instead of an upsert, and no database round trip on every write
 * (ADR 033, bench/cache.ts). Valkey away: counted in Postgres, as without it.
 */
async function hitOnValkey(userID: string, limit: number): Promise<Outcome> {
  const now = Date.now();
  const start = Math.floor(now / WINDOW_MS) * WINDOW_MS;
  const left = start + WINDOW_MS - now;
  try {
    const count = await writes.increment(`${userID}:${start}`, { ttlSeconds: left / 1000 });
    const allowed = count <= limit;
    return {
      allowed,
      count,
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(left / 1000)),
    };
  } catch (error) {
    log.warn("write rate: the cache is away; counted in Postgres", { error });
    return hit(`writes:${userID}`, { limit, windowSeconds: 60 });
  }
}
