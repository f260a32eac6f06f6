import { lambdaNodejs } from "./bundling";
import { lambdaOnlyTrust } from "./iam";
import { securityGroups, vpc } from "./network";
import { RandomPassword } from "./random";
import { secrets } from "./secrets";
import { isProduction, sizing, variables } from "./stage";

/**
 * RDS Postgres 17 in the private subnets. No RDS Proxy (~$22/month minimum): the connection budget
 * is API tasks × DATABASE_POOL_MAX + migrator + worker concurrency, well under t4g.micro's ~112.
 * `sst dev` uses the local Postgres in `dev` instead of creating an instance (no TLS there:
 * DATABASE_SSL=off, and the app role is the dev user).
 * TLS is required by the server (rds.force_ssl=1); its own security group admits 5432 from the
 * API's, the worker's and the migrator's groups only (ADR 018).
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
    // SST sets rds.force_ssl=0. In a custom group where `ssl` is already on (RDS's default), 1
    // applies without a reboot (AWS: "Requiring an SSL connection to a PostgreSQL DB instance").
    parameterGroup: (args) => {
      args.parameters = $output(args.parameters).apply((parameters) =>
        (parameters ?? []).map((p) => (p.name === "rds.force_ssl" ? { ...p, value: "1" } : p)),
      );
    },
    instance: {
      vpcSecurityGroupIds: [securityGroups.database.id],
      // Storage autoscaling (SST sets the ceiling to the allocated size, i.e. none).
      maxAllocatedStorage: sizing.database.maxStorageGb,
      // Minor versions carry security fixes; RDS applies them in the maintenance window.
      autoMinorVersionUpgrade: true,
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

/** How the app's processes connect: TLS verified against the RDS CA bundle, offline none. */
export const DATABASE_SSL = $dev ? "off" : "rds";

/**
 * The app's own role (packages/core: rows, no DDL), created and kept in step by the migrator from
 * this link. Rotate its password: bump `generation` and deploy (the migrator sets the new one,
 * then the API tasks restart with the new DATABASE_URL, ADR 018). Under `sst dev` it is the
 * local dev user.
 */
const appPassword = $dev
  ? undefined
  : new RandomPassword("AppDatabasePassword", {
      length: 32,
      special: false,
      keepers: { generation: "1" },
    });
export const APP_DATABASE_USER = "slipway_app";

export const appDatabase = new sst.Linkable("AppDatabase", {
  properties: {
    host: database.host,
    port: database.port,
    username: appPassword ? APP_DATABASE_USER : database.username,
    password: appPassword ? appPassword.result : database.password,
    database: database.database,
  },
});

/**
 * The API container's DATABASE_URL, for the app role: an SSM SecureString its task reads at start
 * (an ECS secret), never a plain value in the task definition. Standard parameters are free.
 */
export const appDatabaseUrl = appPassword
  ? new aws.ssm.Parameter("ApiDatabaseUrl", {
      name: `/${$app.name}/${$app.stage}/api/database-url`,
      type: "SecureString",
      // Standard parameters are free; stated, so an account's default tier cannot change it.
      tier: "Standard",
      description: "DATABASE_URL of the API: the app role, TLS (DATABASE_SSL=rds)",
      value: $interpolate`postgres://${APP_DATABASE_USER}:${appPassword.result.apply(encodeURIComponent)}@${database.host}:${database.port}/${database.database}`,
    })
  : undefined;

/** The one migrator (packages/core/src/db/migrator.ts), run in the VPC at every deploy. */
export const migrator = new sst.aws.Function("Migrator", {
  handler: "packages/functions/src/migrator.handler",
  runtime: "nodejs22.x",
  architecture: "arm64",
  timeout: "5 minutes",
  memory: "512 MB",
  nodejs: lambdaNodejs,
  vpc: { privateSubnets: vpc.privateSubnets, securityGroups: [securityGroups.migrator.id] },
  // The owner (Database) runs migrations and creates the app role from AppDatabase.
  link: [database, appDatabase, secrets.SentryDsn],
  copyFiles: [{ from: "migrations", to: "migrations" }],
  environment: {
    MIGRATIONS_DIR: "migrations",
    SLIPWAY_RELEASE: variables.release,
    DATABASE_SSL,
  },
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
