import type * as Random from "../.sst/platform/node_modules/@pulumi/random";

/**
 * `@pulumi/random`, for generated per-stage secrets. The CLI makes a global only of a provider the
 * config declares (`random` is not), but SST's own Postgres depends on this package, and the CLI
 * runs the config from its platform (.sst/platform), where the bundle's `require` finds it. Types
 * from the same copy; an `import` would need the infra type-check to resolve the package there.
 */
export const { RandomPassword } = require("@pulumi/random") as typeof Random;
