import { lambdaOnlyTrust } from "./iam";
import { vpc } from "./network";
import { secrets } from "./secrets";
import { isProduction, sizing, variables } from "./stage";

/**
 * RDS Postgres 17 in the private subnets. No RDS Proxy (~$22/month minimum): the connection budget
 * is API tasks × DATABASE_POOL_MAX + migrator + worker concurrency, well under t4g.micro's ~112.
 * `sst dev` uses the local Postgres in `dev` instead of creating an instance.
 */
export const database = new sst.aws.Postgres("Database", {
  vpc,
  version: "17",
  instance: sizing.database.instance,
  storage: sizing.database.storage,
  multiAz: sizing.database.multiAz,
  proxy: false,
  dev: {
    host: "localhost",
    port: 5432,
    username: "postgres",
    password: "postgres",
    database: "slipway",
  },
  transform: {
    instance: {
      publiclyAccessible: false,
      storageEncrypted: true,
      backupRetentionPeriod: sizing.database.backupRetentionDays,
      deletionProtection: sizing.database.deletionProtection,
      // Production keeps a final snapshot if the instance is ever deleted.
      skipFinalSnapshot: !isProduction,
      finalSnapshotIdentifier: isProduction ? `${$app.name}-${$app.stage}-final` : undefined,
    },
  },
});

/** The one migrator (packages/core/src/db/migrator.ts), run in the VPC at every deploy. */
export const migrator = new sst.aws.Function("Migrator", {
  handler: "packages/functions/src/migrator.handler",
  runtime: "nodejs22.x",
  architecture: "arm64",
  timeout: "5 minutes",
  memory: "512 MB",
  vpc,
  link: [database, secrets.SentryDsn],
  copyFiles: [{ from: "migrations", to: "migrations" }],
  environment: { MIGRATIONS_DIR: "migrations", SLIPWAY_RELEASE: variables.release },
  logging: { retention: sizing.logRetention },
  transform: { role: lambdaOnlyTrust },
});

/**
 * Invokes the migrator on every deploy (the input changes each time). A failing migration fails
 * the deploy, and the API service depends on this, so new code never serves an old schema.
 * Under `sst dev` the API migrates the local database at boot instead.
 */
export const migration = $dev
  ? undefined
  : new aws.lambda.Invocation("MigratorInvocation", {
      functionName: migrator.name,
      input: JSON.stringify({ deployedAt: new Date().toISOString() }),
    });
