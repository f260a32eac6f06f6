/**
 * What hono-openapi's converter (@standard-community/standard-json) takes from `zod/v4/core`,
 * and nothing else: build-server.mjs points its dynamic import here, so the bundle does not keep
 * all of zod's core for one function (docs/decisions/022-bundle-size-and-cold-start.md).
 */
export { toJSONSchema } from "zod";
