import { lambdaNodejs } from "./bundling";
import { lambdaOnlyTrust } from "./iam";
import { securityGroups, vpc } from "./network";
import { RandomPassword } from "./random";
import { secrets } from "./secrets";
import { baseStage, databaseChoice, isProduction, shape, sizing, variables } from "./stage";
import { appRoleName, stageDatabaseName } from "./stage-shape";

/**
 * The stage's database on a shared instance (a deployed preview), else undefined (under `sst dev`
 * every stage uses the embedded database, and its migrator creates nothing).
 */
export const sharedDatabaseName =
  baseStage && !$dev ? stageDatabaseName($app.name, $app.stage) : undefined;

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
export const APP_DATABASE_USER = appRoleName(shape, sharedDatabaseName ?? "");

/**
 * RDS Postgres 17 in the private subnets (SLIPWAY_DATABASE unset or rds). No RDS Proxy unless
 * SLIPWAY_DB_PROXY (~$22/month minimum): the connection budget is API tasks × DATABASE_POOL_MAX +
 * migrator + worker concurrency, well under t4g.micro's ~112.
 * TLS is required by the server (rds.force_ssl=1); its own security group admits 5432 from the
 * API's, the worker's and the migrator's groups only (ADR 018).
 */
const ownDatabase = () =>
  new sst.aws.Postgres("Database", {
    vpc,
    version: "17",
    instance: sizing.database.instance,
    storage: sizing.database.storage,
    multiAz: sizing.database.multiAz,
    // RDS Proxy is this file's own (below): SST's would become the component's host, and so the
    // migrator's too, in the VPC's default security group.
    proxy: false,
    // The next version, class or parameter group change goes through an RDS blue/green
    // deployment (README, "Bigger database"); off by default, never with a proxy.
    blueGreen: databaseChoice.blueGreen,
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

/**
 * SLIPWAY_DATABASE=aurora-serverless: Aurora Serverless v2 Postgres 17 in the same private
 * subnets and security group, TLS required, encrypted, backed up like the RDS instance. Capacity
 * 0.5-4 ACUs in production; elsewhere 0-4 with auto-pause after 5 idle minutes (ADR 035).
 * Production adds a reader in another AZ as its failover target (what Multi-AZ is for RDS).
 * Named Aurora, not Database: the owner's link (below) is `Database` and must point at the
 * cluster endpoint, never SST's link (which grants Secrets Manager and the Data API).
 */
const ownAurora = () => {
  const scaling = databaseChoice.aurora;
  if (!scaling) throw new Error("SLIPWAY_DATABASE=aurora-serverless without a capacity range");
  return new sst.aws.Aurora("Aurora", {
    engine: "postgres",
    version: "17",
    vpc: { subnets: vpc.privateSubnets, securityGroups: [securityGroups.database.id] },
    scaling: {
      min: `${scaling.minAcu} ACU`,
      max: `${scaling.maxAcu} ACU`,
      ...(scaling.pauseAfterSeconds ? { pauseAfter: `${scaling.pauseAfterSeconds} seconds` } : {}),
    },
    replicas: sizing.database.multiAz ? 1 : 0,
    proxy: false,
    transform: {
      // Aurora PostgreSQL's rds.force_ssl is a cluster parameter (dynamic).
      clusterParameterGroup: (args) => {
        args.parameters = [{ name: "rds.force_ssl", value: "1" }];
      },
      cluster: {
        storageEncrypted: true,
        backupRetentionPeriod: sizing.database.backupRetentionDays,
        deletionProtection: sizing.database.deletionProtection,
        // SST skips the final snapshot; production keeps one, as for RDS.
        skipFinalSnapshot: !isProduction,
        finalSnapshotIdentifier: isProduction ? `${$app.name}-${$app.stage}-final` : undefined,
      },
      instance: {
        publiclyAccessible: false,
        autoMinorVersionUpgrade: true,
        // The reader follows the writer's capacity (tier 0-1), so a failover lands on a warm one.
        promotionTier: 1,
      },
    },
  });
};

/**
 * `sst dev`: no instance. The embedded database (PGlite under .data/, the same single owner
 * `npm run dev` uses, ADR 015) is started by `sst dev` itself and served over the Postgres
 * protocol on loopback, on SLIPWAY_DEV_DATABASE_PORT (not 5432); the local API migrates it at
 * boot. No TLS there (DATABASE_SSL=off), and the app role is the dev user.
 */
const embeddedDatabase = () => {
  new sst.x.DevCommand("EmbeddedDatabase", {
    dev: {
      title: "Database",
      autostart: true,
      command: "node --import tsx scripts/dev-database.ts",
    },
    environment: { PGLITE_PORT: String(variables.devDatabasePort) },
  });
  return {
    host: $output("127.0.0.1"),
    port: $output(variables.devDatabasePort),
    username: $output("postgres"),
    password: $output("postgres"),
    database: $output("postgres"),
  };
};

/**
 * A preview: the base stage's instance (found by its tags), with a database of this stage's own,
 * `<app>_<stage>`, which the migrator creates before migrating and drops when the stage is
 * removed (its invocation's delete, below). The owner is the base's master user.
 */
const baseInstanceId = () =>
  aws.rds
    .getInstancesOutput({ tags: { "sst:app": $app.name, "sst:stage": baseStage as string } })
    .instanceIdentifiers.apply((ids) => {
      if (ids.length !== 1)
        throw new Error(
          `found ${ids.length} RDS instances of stage ${baseStage} (SLIPWAY_BASE_STAGE): deploy ${baseStage} first`,
        );
      return ids[0] as string;
    });

const owns = !$dev && !baseStage;
const own = owns && databaseChoice.engine === "rds" ? ownDatabase() : undefined;
const aurora = owns && databaseChoice.engine === "aurora-serverless" ? ownAurora() : undefined;
const base =
  !$dev && baseStage ? sst.aws.Postgres.get("BaseDatabase", { id: baseInstanceId() }) : undefined;
const server = own ?? aurora ?? base;
/** The server itself (never a proxy): how the schema's owner, the migrator, connects. */
const connection = server
  ? {
      host: server.host,
      port: server.port,
      username: server.username,
      password: server.password,
      database: sharedDatabaseName ? $output(sharedDatabaseName) : server.database,
    }
  : embeddedDatabase();

/**
 * What the migrator links as `Database`: the schema's owner. The stage's own Postgres component,
 * else (Aurora, a preview, `sst dev`) a Linkable of the same shape.
 */
export const database: sst.aws.Postgres | sst.Linkable<typeof connection> =
  own ?? new sst.Linkable("Database", { properties: connection });
export const databaseConnection = connection;
/**
 * The stage's own database instance, RDS or Aurora's writer (none in a preview or under
 * `sst dev`): what the alarms watch.
 */
export const databaseInstance = own?.nodes.instance ?? aurora?.nodes.instance;
/** The Aurora cluster (SLIPWAY_DATABASE=aurora-serverless): its volume is watched, not a disk. */
export const databaseCluster = aurora?.nodes.cluster;

/**
 * SLIPWAY_READ_REPLICAS=1: one read replica of the stage's own instance, for the API's reads that
 * tolerate lag (packages/core/src/read-sites.ts, ADR 034). An `aws.rds.Instance` of our own:
 * SST's Postgres keeps its `replicas` internal, without a security group, a transform or a
 * reader endpoint. Same class, storage, subnet group, security group and parameter group (so
 * TLS is forced there too) as the primary; RDS copies the rest (encryption, roles, data) from it.
 */
const rdsPrimary = own?.nodes.instance;
export const databaseReplica =
  rdsPrimary && sizing.database.replicas === 1
    ? new aws.rds.Instance("DatabaseReplica", {
        // Named, as SST names the primary (its alarm's dimension): at most 63 characters.
        identifier: `${`${$app.name}-${$app.stage}`.toLowerCase().slice(0, 55).replace(/-+$/, "")}-replica`,
        replicateSourceDb: rdsPrimary.identifier,
        instanceClass: rdsPrimary.instanceClass,
        storageType: rdsPrimary.storageType,
        allocatedStorage: rdsPrimary.allocatedStorage,
        maxAllocatedStorage: sizing.database.maxStorageGb,
        dbSubnetGroupName: rdsPrimary.dbSubnetGroupName,
        vpcSecurityGroupIds: [securityGroups.database.id],
        parameterGroupName: rdsPrimary.parameterGroupName,
        publiclyAccessible: false,
        storageEncrypted: true,
        autoMinorVersionUpgrade: true,
        // Its own standby would double its price; while a failed replica is replaced, the reads
        // routed there answer 503 (DatabaseUnavailable), the rest of the API is unaffected.
        multiAz: false,
        // A replica keeps no backups of its own (the primary's are the data's) and no snapshot.
        backupRetentionPeriod: 0,
        skipFinalSnapshot: true,
        // Turning the variable off must be able to remove it; it holds no data of its own.
        deletionProtection: false,
        applyImmediately: true,
      })
    : undefined;

/** How the migrator connects: TLS verified against the RDS CA bundle, offline none. */
export const DATABASE_SSL = $dev ? "off" : "rds";

/**
 * SLIPWAY_DB_PROXY=true: RDS Proxy in front of the instance or cluster, for the app role only.
 * The API and the worker log in through it (a Lambda's connections come and go with its
 * concurrency; the proxy holds the database's side open and bounds it); the migrator connects
 * directly (ADR 035). The proxy authenticates clients against a Secrets Manager secret holding
 * the app role's password, which only its own role may read.
 */
const databaseProxy = () => {
  const group = securityGroups.proxy;
  if (!group || !appPassword) throw new Error("SLIPWAY_DB_PROXY=true without a proxy group");
  const secret = new aws.secretsmanager.Secret("DatabaseProxyAppSecret", {
    description: "The app role's login, read by RDS Proxy only",
    recoveryWindowInDays: isProduction ? 7 : 0,
  });
  new aws.secretsmanager.SecretVersion("DatabaseProxyAppSecretVersion", {
    secretId: secret.id,
    secretString: $jsonStringify({ username: APP_DATABASE_USER, password: appPassword.result }),
  });
  const role = new aws.iam.Role("DatabaseProxyRole", {
    assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "rds.amazonaws.com" }),
    inlinePolicies: [
      {
        name: "read-app-login",
        policy: aws.iam.getPolicyDocumentOutput({
          statements: [{ actions: ["secretsmanager:GetSecretValue"], resources: [secret.arn] }],
        }).json,
      },
    ],
  });
  const proxy = new aws.rds.Proxy("DatabaseProxy", {
    engineFamily: "POSTGRESQL",
    auths: [
      {
        authScheme: "SECRETS",
        iamAuth: "DISABLED",
        clientPasswordAuthType: "POSTGRES_SCRAM_SHA_256",
        secretArn: secret.arn,
      },
    ],
    roleArn: role.arn,
    vpcSubnetIds: vpc.privateSubnets,
    vpcSecurityGroupIds: [group.id],
    requireTls: true,
  });
  const targetGroup = new aws.rds.ProxyDefaultTargetGroup("DatabaseProxyTargetGroup", {
    dbProxyName: proxy.name,
    // Leaves a fifth of max_connections to the migrator and operators, who connect directly.
    connectionPoolConfig: { maxConnectionsPercent: 80 },
  });
  const cluster = aurora?.nodes.cluster;
  const instance = own?.nodes.instance;
  new aws.rds.ProxyTarget("DatabaseProxyTarget", {
    dbProxyName: proxy.name,
    targetGroupName: targetGroup.name,
    ...(cluster
      ? { dbClusterIdentifier: cluster.clusterIdentifier }
      : { dbInstanceIdentifier: instance?.identifier }),
  });
  return proxy;
};
const proxy = databaseChoice.proxy && server && !base ? databaseProxy() : undefined;
/** The RDS Proxy (SLIPWAY_DB_PROXY=true), if any: its endpoint is the app role's host. */
export const databaseProxyEndpoint = proxy?.endpoint;

/**
 * How the API and the worker connect: as the migrator does, or through the proxy, whose
 * certificate is an ACM one (Amazon's public roots, the system's CAs), not the RDS CA's.
 */
export const APP_DATABASE_SSL = proxy ? "verify" : DATABASE_SSL;
const appHost = proxy ? proxy.endpoint : connection.host;

export const appDatabase = new sst.Linkable("AppDatabase", {
  properties: {
    host: appHost,
    port: connection.port,
    username: appPassword ? APP_DATABASE_USER : connection.username,
    password: appPassword ? appPassword.result : connection.password,
    database: connection.database,
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
      description: `DATABASE_URL of the API: the app role, TLS (DATABASE_SSL=${APP_DATABASE_SSL})`,
      value: $interpolate`postgres://${APP_DATABASE_USER}:${appPassword.result.apply(encodeURIComponent)}@${appHost}:${connection.port}/${connection.database}`,
    })
  : undefined;

/**
 * The API's DATABASE_READER_URL with a replica: the app role on the replica's address (roles and
 * passwords are the primary's, replicated), an SSM SecureString like DATABASE_URL.
 */
export const appReaderDatabaseUrl =
  appPassword && databaseReplica
    ? new aws.ssm.Parameter("ApiDatabaseReaderUrl", {
        name: `/${$app.name}/${$app.stage}/api/database-reader-url`,
        type: "SecureString",
        tier: "Standard",
        description: "DATABASE_READER_URL of the API: the app role on the read replica, TLS",
        value: $interpolate`postgres://${APP_DATABASE_USER}:${appPassword.result.apply(encodeURIComponent)}@${databaseReplica.address}:${databaseReplica.port}/${connection.database}`,
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
    // A preview: create the stage's database on the shared instance first; drop it on delete.
    ...(sharedDatabaseName ? { DATABASE_SHARED_SERVER: "true" } : {}),
  },
  logging: { retention: sizing.logRetention },
  transform: { role: lambdaOnlyTrust },
});

/**
 * Invokes the migrator on every deploy (the input changes each time). A failing migration fails
 * the deploy, and the API service depends on this, so new code never serves an old schema.
 * Under `sst dev` the API migrates the local database at boot instead.
 * A preview's invocation is CRUD-scoped: `sst remove` deletes it first (everything it needs still
 * stands), which invokes the migrator once more with `tf.action = "delete"`: it drops the
 * stage's database and app role. If that fails, the removal stops with the error and the stage
 * stays (run `sst remove` again).
 */
export const migration = $dev
  ? undefined
  : new aws.lambda.Invocation("MigratorInvocation", {
      functionName: migrator.name,
      input: JSON.stringify({ deployedAt: new Date().toISOString() }),
      ...(sharedDatabaseName ? { lifecycleScope: "CRUD" } : {}),
    });
