/**
 * How SST bundles the Lambdas (the worker in tasks.ts, the migrator in database.ts): plain data,
 * so the bundle tests (infra/tests/lambda-bundles.test.ts) and `npm run bench -- worker-bundle`
 * build them with exactly these options (scripts/infra/worker/function-bundle.ts copies SST's
 * build). Budgets and reasons: docs/decisions/022-bundle-size-and-cold-start.md.
 */

/**
 * The AWS SDK v3 clients the Lambdas call, which every Node.js Lambda runtime ships (a specific
 * minor version per runtime and Region, not the lockfile's): resolved from the runtime instead
 * of bundled. The runtime's copy is a coherent set (client, @smithy/*, credential providers);
 * nothing of the SDK is bundled beside it, so no two versions of it ever mix in one process.
 */
export const RUNTIME_PROVIDED_SDK = [
  "@aws-sdk/client-s3",
  "@aws-sdk/client-sesv2",
  "@aws-sdk/client-sqs",
] as const;

/**
 * Presigning is the API's (uploads and downloads); no task presigns. The presigners are imported
 * only when a presign runs (storage/s3.ts), so a Lambda never loads them, and they stay external
 * rather than bundled beside the runtime's client-s3 (a presigner of one SDK version over a
 * client of another is the mix the list above avoids).
 */
export const PRESIGNERS = ["@aws-sdk/s3-presigned-post", "@aws-sdk/s3-request-presigner"] as const;

/** Offline only (db/client.ts imports them only when no DATABASE_URL is set): not on Lambda. */
export const OFFLINE_ONLY = ["@electric-sql/pglite", "drizzle-orm/pglite"] as const;

/** `nodejs` of every Function: minified (SST minifies only when asked), split into chunks. */
export const lambdaNodejs = {
  minify: true,
  // Code behind a dynamic import (Sentry without a DSN, the RDS CA bundle until the first
  // connection, the S3 and SES adapters, PGlite's driver) stays in chunks a cold start never reads.
  splitting: true,
  esbuild: { external: [...RUNTIME_PROVIDED_SDK, ...PRESIGNERS, ...OFFLINE_ONLY] },
};
