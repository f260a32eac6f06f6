import { DevRoutes } from "./dev/dev.routes";
import { HealthRoutes } from "./health";
import { createApp } from "./http/app";

/** The composed API: one `.route()` per module, chained so `AppType` carries every route. */
export const app = createApp()
  .basePath("/api")
  .route("/health", HealthRoutes)
  // Offline only (404 on deployed stages).
  .route("/dev", DevRoutes);

export type AppType = typeof app;
