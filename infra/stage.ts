/**
 * Per-stage choices in one place. Everything that costs money is sized here, and the stage
 * variables a deployer can set are read here (environment variables at `sst deploy` time).
 */

import { databaseOptions } from "./database-shape";
import { stageShape } from "./stage-shape";

export const isProduction = $app.stage === "production";

/**
 * SLIPWAY_BASE_STAGE: which stage a preview stage (anything but production and staging) shares
 * its VPC and RDS instance with; staging unless set, `standalone` for a VPC and instance of its
 * own (infra/stage-shape.ts, ADR 026).
 */
export const shape = stageShape($app.stage, process.env.SLIPWAY_BASE_STAGE);
/** The base stage whose VPC and RDS instance this stage reuses, if it shares. */
export const baseStage = shape.base;
export const isPreview = shape.kind === "preview";

/**
 * SLIPWAY_DATABASE (rds | aurora-serverless), SLIPWAY_DB_PROXY, SLIPWAY_DB_BLUE_GREEN: which
 * database the stage owns and what stands in front of it (infra/database-shape.ts, ADR 035).
 */
export const databaseChoice = databaseOptions(process.env, $app.stage, shape);

/**
 * SLIPWAY_BASTION / SLIPWAY_BASTION_CIDR: a bastion only with the one network SSH may come from.
 * Anything else is refused by name (a value this file would silently read as "off" is an error).
 */
function bastionVariables(env: NodeJS.ProcessEnv): { bastion: boolean; bastionCidr?: string } {
  const flag = env.SLIPWAY_BASTION || undefined;
  const cidr = env.SLIPWAY_BASTION_CIDR || undefined;
  if (flag !== undefined && flag !== "true" && flag !== "false")
    throw new Error(`SLIPWAY_BASTION must be "true" or "false", got ${JSON.stringify(flag)}`);
  const bastion = flag === "true";
  if (!bastion) {
    if (cidr)
      throw new Error("SLIPWAY_BASTION_CIDR is set but SLIPWAY_BASTION is not true: unset one");
    return { bastion };
  }
  if (!cidr)
    throw new Error(
      "SLIPWAY_BASTION=true needs SLIPWAY_BASTION_CIDR, the IPv4 network SSH to the bastion may come from (e.g. 203.0.113.7/32)",
    );
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const [, ...parts] = match ?? [];
  const octetsOk = parts.slice(0, 4).every((octet) => Number(octet) <= 255);
  const prefix = Number(parts[4]);
  if (!match || !octetsOk || prefix > 32)
    throw new Error(`SLIPWAY_BASTION_CIDR must be an IPv4 CIDR like 203.0.113.7/32, got ${cidr}`);
  // The internet at large is what this variable exists to keep out.
  if (prefix < 8)
    throw new Error(`SLIPWAY_BASTION_CIDR ${cidr} is wider than a /8: name your own network`);
  return { bastion, bastionCidr: cidr };
}

/** Stage variables. */
export const variables = {
  /** SLIPWAY_DOMAIN: serve the site and API on this domain (DNS in Route 53). */
  domain: process.env.SLIPWAY_DOMAIN || undefined,
  /**
   * SLIPWAY_MAIL_SENDER=notes@example.com (or a domain): the SES identity mail is sent from.
   * Unset, nothing is sent: mail is kept in the database's dev mailbox table.
   */
  mailSender: process.env.SLIPWAY_MAIL_SENDER || undefined,
  /** SLIPWAY_ALARM_EMAIL=ops@example.com: who the alarms email (confirm the SNS subscription). */
  alarmEmail: process.env.SLIPWAY_ALARM_EMAIL || undefined,
  /**
   * SLIPWAY_WEB_SENTRY_DSN: the site's own public Sentry DSN (a browser project's; it is not a
   * secret, the page holds it). Set, the site reports its errors and the CSP admits the DSN's
   * ingest origin (infra/web.ts, ADR 031); unset, neither.
   */
  webSentryDsn: process.env.SLIPWAY_WEB_SENTRY_DSN || undefined,
  /** The deployed version, tagged on error reports: the CI commit, else "manual". */
  release: process.env.GITHUB_SHA || process.env.SLIPWAY_RELEASE || "manual",
  /**
   * SLIPWAY_BASTION=true: make NAT instance #1 a bastion, for `sst tunnel` to the database, open
   * to SSH from SLIPWAY_BASTION_CIDR only (required with it).
   */
  ...bastionVariables(process.env),
  /**
   * SLIPWAY_DEV_DATABASE_PORT: under `sst dev`, the loopback port the embedded database is served
   * on (not 5432, where a developer's own Postgres may listen).
   */
  devDatabasePort: devDatabasePort(process.env.SLIPWAY_DEV_DATABASE_PORT),
  /** SLIPWAY_CACHE=valkey: ElastiCache Serverless for Valkey instead of the Postgres table. */
  cache: cacheVariable(process.env.SLIPWAY_CACHE),
  /**
   * SLIPWAY_READ_REPLICAS=1: an RDS read replica of the primary's class, which the API sends the
   * reads that tolerate lag to (infra/database.ts, packages/core/src/read-sites.ts, ADR 034).
   */
  readReplicas: readReplicas(process.env.SLIPWAY_READ_REPLICAS),
};

/**
 * SLIPWAY_CACHE: the cache port's store (packages/core/src/cache/, ADR 033). Unset or `postgres`:
 * an UNLOGGED table in the stage's database, nothing more to run or pay for. `valkey`: an
 * ElastiCache Serverless for Valkey cache in the private subnets, linked to the API and worker
 * (infra/cache.ts). Any other value is refused by name.
 */
export function cacheVariable(value: string | undefined): "postgres" | "valkey" {
  if (!value || value === "postgres") return "postgres";
  if (value === "valkey") return "valkey";
  throw new Error(`SLIPWAY_CACHE must be "postgres" or "valkey", got ${JSON.stringify(value)}`);
}

/**
 * 0 or 1. One: the app has one reader URL, and one replica of the same class doubles the read
 * capacity; past that the primary class is the cheaper next step (ADR 034). A preview on its
 * base's instance cannot give that instance a replica.
 */
function readReplicas(value: string | undefined): 0 | 1 {
  const count = value || "0";
  if (count !== "0" && count !== "1")
    throw new Error(
      `SLIPWAY_READ_REPLICAS must be 0 or 1 (one replica is what the app routes reads to), got ${JSON.stringify(value)}`,
    );
  if (count === "0") return 0;
  if (shape.base)
    throw new Error(
      `SLIPWAY_READ_REPLICAS=1: ${$app.stage} shares ${shape.base}'s RDS instance; set it when deploying ${shape.base}, or give ${$app.stage} its own instance (SLIPWAY_BASE_STAGE=standalone)`,
    );
  // Aurora has readers of its own (a reader endpoint, ADR 035); a replica of its writer
  // instance is not an RDS read replica.
  if (process.env.SLIPWAY_DATABASE === "aurora-serverless")
    throw new Error(
      "SLIPWAY_READ_REPLICAS=1 is for the RDS instance; with SLIPWAY_DATABASE=aurora-serverless unset it (Aurora's reader instance serves reads)",
    );
  // Through a proxy the app verifies the proxy's certificate (DATABASE_SSL=verify), which the
  // replica, reached directly, does not present: one TLS setting cannot serve both (ADR 034).
  if (process.env.SLIPWAY_DB_PROXY === "true")
    throw new Error(
      "SLIPWAY_READ_REPLICAS=1 with SLIPWAY_DB_PROXY=true is not supported: the reader is reached directly, with another certificate than the proxy's; unset one",
    );
  return 1;
}

function devDatabasePort(value: string | undefined): number {
  if (!value) return 55432;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1024 || port > 65535 || port === 5432)
    throw new Error(
      `SLIPWAY_DEV_DATABASE_PORT must be a port from 1024 to 65535 other than 5432, got ${value}`,
    );
  return port;
}

export const sizing = {
  cache: {
    // ElastiCache Serverless bills stored GB-hours (Valkey: 100 MB minimum, ~$6/month) and ECPUs;
    // these caps bound the bill of a runaway (a loop caching large values): writes past the
    // storage cap evict, requests past the ECPU rate are throttled.
    maxStorageGb: 1,
    maxEcpuPerSecond: 5000,
  },
  database: {
    // db.t4g.micro: 2 vCPU (burst), 1 GB, ~$12/month single-AZ; max_connections ≈ 112.
    instance: "t4g.micro",
    storage: "20 GB" as const,
    // Storage autoscaling: RDS grows the volume when it runs low, up to this, without a deploy.
    maxStorageGb: 100,
    multiAz: isProduction,
    backupRetentionDays: isProduction ? 14 : 7,
    deletionProtection: isProduction,
    /**
     * SLIPWAY_READ_REPLICAS=1: a replica of the same class (a smaller one falls behind the
     * primary's writes; AWS: keep the class and storage type equal). Its own max_connections,
     * the same ≈ 112 (RDS derives it from the class's memory; a hot standby needs at least the
     * primary's): only the API reads there, tasks × DATABASE_POOL_MAX = 20 at most.
     */
    replicas: variables.readReplicas,
  },
  api: {
    // The smallest Fargate task: ~$7/month on ARM on demand, ~$2/month on Spot.
    cpu: "0.25 vCPU" as const,
    memory: "0.5 GB" as const,
    minTasks: 1,
    maxTasks: isProduction ? 4 : 1,
    /**
     * The most tasks `npm run scale` may raise the service to (ADR 032): what the database's
     * connection budget below still holds (8 × 5 = 40 of ~112 in production).
     */
    capTasks: isProduction ? 8 : 2,
    /** DATABASE_POOL_MAX of each task: the connections one task may hold. */
    poolMax: 5,
    // Scale out (target tracking) when the service's average CPU is above this.
    cpuTargetPercent: 60,
    scaleOutCooldownSeconds: 60,
    /**
     * Scale in only after a sustained quiet period (seed 003: "below 20% load for 5 minutes,
     * remove 50% of the servers"): target tracking never scales in; a step policy removes this
     * share of the tasks (at least one) when the average CPU stayed below `cpuBelowPercent` for
     * `minutes` one-minute periods, then waits `cooldownSeconds` before the next step.
     */
    scaleIn: { cpuBelowPercent: 20, minutes: 5, removePercent: 50, cooldownSeconds: 300 },
    /**
     * Seconds ECS waits after SIGTERM before it kills a stopping task (scale-in, deploy): the
     * server stops taking connections and finishes those in flight (packages/core/src/server.ts
     * gives up at 25 s), so no request is cut off by a scale-in.
     */
    stopTimeoutSeconds: 30,
    spot: !isProduction,
  },
  worker: {
    /**
     * Database connection budget (db.t4g.micro: max_connections ≈ 112):
     * API tasks (max 4) × DATABASE_POOL_MAX 5 = 20, + worker concurrency 5 × pool 2 = 10,
     * + migrator 1 = 31, leaving room for sessions of operators and tools; at `npm run scale`'s
     * cap of 8 tasks, 40 + 10 + 1 = 51. With a read replica
     * (SLIPWAY_READ_REPLICAS=1) each API task has a second pool of 5 there, on the replica's own
     * ≈ 112: the primary's budget stays 31, the replica's is 20.
     */
    maxConcurrency: 5,
    poolMax: 2,
  },
  gateway: { burstLimit: isProduction ? 200 : 50, rateLimit: isProduction ? 100 : 20 },
  logRetention: isProduction ? ("3 months" as const) : ("1 month" as const),
};
