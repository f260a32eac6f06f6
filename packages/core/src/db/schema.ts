// Every module's tables, for the typed client and drizzle-kit. One line per module's `*.sql.ts`.
export * from "../task/task.sql";
