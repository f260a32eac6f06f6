import { defineConfig } from "drizzle-kit";

// `npm run db:generate` diffs every module's `*.sql.ts` against the last snapshot and writes
// the SQL to the root `migrations/`. It needs no database. Never `push` to a shared stage.
export default defineConfig({
  dialect: "postgresql",
  // Every module's tables, found by their file name: nothing to register.
  schema: "./src/**/*.sql.ts",
  out: "../../migrations",
  casing: "snake_case",
  strict: true,
  verbose: true,
});
