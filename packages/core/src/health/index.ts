export * as Health from "./health";
export { HealthRoutes } from "./health.routes";
