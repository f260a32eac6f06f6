import { defineConfig } from "drizzle-kit";

// `npm run db:generate` diffs every module's `*.sql.ts` against the last snapshot and writes
// the SQL to the root `migrations/`. It needs no database. Never `push` to a shared stage.
export default defineConfig({
  dialect: "postgresql",
  // The glob finds every module's tables; schema.ts keeps the list valid before the first table.
  schema: ["./src/**/*.sql.ts", "./src/db/schema.ts"],
  out: "../../migrations",
  casing: "snake_case",
  strict: true,
  verbose: true,
});
