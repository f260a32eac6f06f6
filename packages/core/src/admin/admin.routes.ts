import { Hono } from "hono";
import type { RegisteredTable } from "../db/table-access";
import type { Operator } from "../task/operator";
import { AuditRoutes } from "./audit.routes";
import { createTableBrowser } from "./tables";
import { createTableRoutes } from "./tables.routes";
import { UserRoutes } from "./users.routes";

/** What the composition root (api.ts) gives the console: the app's tables and its task operator. */
export interface AdminOptions {
  tables: readonly RegisteredTable[];
  operator: Operator;
}

/**
 * The operator console's API, mounted at /api/admin behind `requireAdmin` (api.ts): no route here
 * checks the role again. A purpose-built view is one more `.route()` below (packages/core/README.md).
 */
export function createAdminRoutes({ tables }: AdminOptions) {
  return new Hono()
    .route("/tables", createTableRoutes(createTableBrowser(tables)))
    .route("/users", UserRoutes)
    .route("/audit", AuditRoutes);
}
