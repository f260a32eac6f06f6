import { createHash } from "node:crypto";

/**
 * What kind of stage a name is, and what it shares (ADR 026). Pure (no `$app`), so the rules are
 * tested without evaluating the config.
 *
 * - `production` and `staging` own everything: a VPC with its NAT instances, an RDS instance.
 * - Every other stage (a developer's `frank`, a pull request's `pr-42`) is a preview: it reuses
 *   the VPC and the RDS instance of a base stage (`staging`, or SLIPWAY_BASE_STAGE), with a
 *   database and an app role of its own on that instance. SLIPWAY_BASE_STAGE=standalone gives a
 *   preview its own VPC and RDS instance instead, like staging's.
 */

export type StageKind = "production" | "staging" | "preview";

export interface StageShape {
  kind: StageKind;
  /** The stage whose VPC and RDS instance this one reuses; undefined: it owns its own. */
  base?: string;
}

export const STANDALONE = "standalone";

export function stageShape(stage: string, baseVariable: string | undefined): StageShape {
  const base = baseVariable || undefined;
  if (stage === "production" || stage === "staging") {
    // Production never shares (neither borrows nor lends a database to PR code as its base).
    if (base !== undefined)
      throw new Error(
        `SLIPWAY_BASE_STAGE is for preview stages; ${stage} owns its network and database: unset it`,
      );
    return { kind: stage };
  }
  if (base === STANDALONE) return { kind: "preview" };
  const chosen = base ?? "staging";
  if (chosen === "production")
    throw new Error("SLIPWAY_BASE_STAGE=production: production never shares its VPC or database");
  if (chosen === stage)
    throw new Error(`SLIPWAY_BASE_STAGE=${stage}: a stage cannot be its own base`);
  if (!/^[a-zA-Z0-9-]+$/.test(chosen))
    throw new Error(
      `SLIPWAY_BASE_STAGE must be a stage name (letters, digits, -), got ${JSON.stringify(chosen)}`,
    );
  return { kind: "preview", base: chosen };
}

/** Postgres identifiers are at most 63 bytes; `<database>_app` must fit too. */
const MAX_DATABASE_NAME = 63 - "_app".length;

/**
 * The database a preview stage gets on the shared instance: `<app>_<stage>`, lower case, every
 * other character `_` (`slipway_pr_42`). A name too long for Postgres keeps its start and ends in
 * a hash of the whole, so two long stage names never share a database.
 */
export function stageDatabaseName(app: string, stage: string): string {
  const name = `${app}_${stage}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  const safe = /^[a-z_]/.test(name) ? name : `_${name}`;
  if (safe.length <= MAX_DATABASE_NAME) return safe;
  const hash = createHash("sha256").update(`${app}\0${stage}`).digest("hex").slice(0, 8);
  return `${safe.slice(0, MAX_DATABASE_NAME - 9)}_${hash}`;
}

/** The app role (DML only, ADR 018) of a stage: roles are per instance, so a preview names its own. */
export function appRoleName(shape: StageShape, database: string): string {
  return shape.base ? `${database}_app` : "slipway_app";
}
