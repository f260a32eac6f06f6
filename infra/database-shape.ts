import type { StageShape } from "./stage-shape";

/**
 * Which database a stage runs (ADR 035), from its stage variables. Pure (no `$app`), so every
 * rule is tested without evaluating the config:
 *
 * - SLIPWAY_DATABASE: `rds` (unset: the default, one RDS Postgres instance) or
 *   `aurora-serverless` (an Aurora Serverless v2 Postgres cluster).
 * - SLIPWAY_DB_PROXY: `true` puts RDS Proxy in front of either; `false` or unset, none.
 * - SLIPWAY_DB_BLUE_GREEN: `true` makes RDS apply the next engine, class or parameter change
 *   through a blue/green deployment (README, "Bigger database"); RDS only, never with a proxy.
 *
 * All three are choices of the stage that owns the database: a preview sharing its base's
 * instance (ADR 026) inherits it and may set none of them.
 */

export const DATABASE_ENGINES = ["rds", "aurora-serverless"] as const;
export type DatabaseEngine = (typeof DATABASE_ENGINES)[number];

export interface DatabaseOptions {
  engine: DatabaseEngine;
  proxy: boolean;
  blueGreen: boolean;
  /**
   * Aurora's capacity range in ACUs (1 ACU ≈ 2 GiB). Undefined for RDS. A minimum of 0 pauses
   * the instance after `pauseAfterSeconds` without connections.
   */
  aurora?: { minAcu: number; maxAcu: number; pauseAfterSeconds?: number };
}

type Env = Record<string, string | undefined>;

function flag(env: Env, name: string): boolean | undefined {
  const value = env[name] || undefined;
  if (value === undefined) return undefined;
  if (value !== "true" && value !== "false")
    throw new Error(`${name} must be "true" or "false", got ${JSON.stringify(value)}`);
  return value === "true";
}

/** Aurora's maximum: 4 ACUs (8 GiB) gives Aurora PostgreSQL a max_connections of 823. */
export const AURORA_MAX_ACU = 4;

export function databaseOptions(env: Env, stage: string, shape: StageShape): DatabaseOptions {
  const engineValue = env.SLIPWAY_DATABASE || undefined;
  if (engineValue !== undefined && !(DATABASE_ENGINES as readonly string[]).includes(engineValue))
    throw new Error(
      `SLIPWAY_DATABASE must be ${DATABASE_ENGINES.join(" or ")} (or unset), got ${JSON.stringify(engineValue)}`,
    );
  const engine = (engineValue ?? "rds") as DatabaseEngine;
  const proxyFlag = flag(env, "SLIPWAY_DB_PROXY");
  const blueGreenFlag = flag(env, "SLIPWAY_DB_BLUE_GREEN");
  const proxy = proxyFlag ?? false;
  const blueGreen = blueGreenFlag ?? false;

  if (shape.base) {
    const set = [
      engineValue !== undefined && "SLIPWAY_DATABASE",
      proxyFlag !== undefined && "SLIPWAY_DB_PROXY",
      blueGreenFlag !== undefined && "SLIPWAY_DB_BLUE_GREEN",
    ].filter(Boolean);
    if (set.length > 0)
      throw new Error(
        `${set.join(", ")}: ${stage} shares ${shape.base}'s database, which decides them; set them on ${shape.base}, or give ${stage} its own (SLIPWAY_BASE_STAGE=standalone)`,
      );
  }
  if (blueGreen && engine !== "rds")
    throw new Error(
      "SLIPWAY_DB_BLUE_GREEN=true is for SLIPWAY_DATABASE=rds: Aurora upgrades in place (ADR 035)",
    );
  // SST documents blue/green as incompatible with a proxy; AWS added RDS Proxy support to
  // blue/green deployments in April 2026, untried here under Pulumi's blueGreenUpdate (ADR 035).
  if (blueGreen && proxy)
    throw new Error(
      "SLIPWAY_DB_BLUE_GREEN=true cannot be used with SLIPWAY_DB_PROXY=true (SST documents blue/green as incompatible with a proxy): deploy without the proxy for the upgrade, then put it back",
    );
  if (engine === "rds") return { engine, proxy, blueGreen };
  // Production never waits ~15 s for a paused writer to resume; a proxy keeps a connection to
  // every instance open, so with one Aurora would never pause anyway (AWS: auto-pause).
  const pause = stage !== "production" && !proxy;
  return {
    engine,
    proxy,
    blueGreen,
    aurora: pause
      ? { minAcu: 0, maxAcu: AURORA_MAX_ACU, pauseAfterSeconds: 300 }
      : { minAcu: 0.5, maxAcu: AURORA_MAX_ACU },
  };
}
