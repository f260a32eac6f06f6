export { requireAdmin } from "./admin";
export { type AdminOptions, createAdminRoutes } from "./admin.routes";
export * as Audit from "./audit";
