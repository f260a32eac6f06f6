import createClient, { type ClientOptions } from "openapi-fetch";
import type { paths } from "./schema";

export type { components, operations, paths } from "./schema";

/**
 * A client of the Slipway API typed by nothing but its OpenAPI document: what a team's mobile
 * app or a partner would generate. Paths, parameters, bodies and every documented response,
 * errors included, are typed from `schema.ts`. The web app keeps Hono's `hc` client.
 */
export function createApiClient(options: ClientOptions = {}) {
  return createClient<paths>(options);
}
