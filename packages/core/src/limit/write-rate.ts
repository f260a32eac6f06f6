import { createMiddleware } from "hono/factory";
import { useActor } from "../actor";
import { config } from "../config";
import { AppError } from "../error";
import { hit } from "./limit";

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
  const outcome = await hit(`writes:${actor.userID}`, { limit, windowSeconds: 60 });
  if (!outcome.allowed) {
    throw new AppError(
      "rate_limited",
      `Too many changes: at most ${limit} a minute; try again in ${outcome.retryAfterSeconds} s`,
      { limit, windowSeconds: 60, retryAfterSeconds: outcome.retryAfterSeconds },
    );
  }
  return next();
});
