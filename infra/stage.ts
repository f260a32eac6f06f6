/**
 * Per-stage choices in one place. Everything that costs money is sized here, and the stage
 * variables a deployer can set are read here (environment variables at `sst deploy` time).
 */

export const isProduction = $app.stage === "production";

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
  /** The deployed version, tagged on error reports: the CI commit, else "manual". */
  release: process.env.GITHUB_SHA || process.env.SLIPWAY_RELEASE || "manual",
  /** SLIPWAY_BASTION=true: make NAT instance #1 a bastion, for `sst tunnel` to the database. */
  bastion: process.env.SLIPWAY_BASTION === "true",
};

export const sizing = {
  database: {
    // db.t4g.micro: 2 vCPU (burst), 1 GB, ~$12/month single-AZ; max_connections ≈ 112.
    instance: "t4g.micro",
    storage: "20 GB" as const,
    multiAz: isProduction,
    backupRetentionDays: isProduction ? 14 : 7,
    deletionProtection: isProduction,
  },
  api: {
    // The smallest Fargate task: ~$7/month on ARM on demand, ~$2/month on Spot.
    cpu: "0.25 vCPU" as const,
    memory: "0.5 GB" as const,
    minTasks: 1,
    maxTasks: isProduction ? 4 : 1,
    cpuTargetPercent: 60,
    spot: !isProduction,
  },
  worker: {
    /**
     * Database connection budget (db.t4g.micro: max_connections ≈ 112):
     * API tasks (max 4) × DATABASE_POOL_MAX 5 = 20, + worker concurrency 5 × pool 2 = 10,
     * + migrator 1 = 31, leaving room for sessions of operators and tools.
     */
    maxConcurrency: 5,
    poolMax: 2,
  },
  gateway: { burstLimit: isProduction ? 200 : 50, rateLimit: isProduction ? 100 : 20 },
  logRetention: isProduction ? ("3 months" as const) : ("1 month" as const),
};
