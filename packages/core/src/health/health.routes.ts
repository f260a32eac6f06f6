import { Hono } from "hono";
import * as Health from "./health";

export const HealthRoutes = new Hono()
  // Liveness: the process serves HTTP. The container health check uses it, so a database
  // outage does not make ECS kill every task.
  .get("/", (c) => c.json({ status: "ok" as const }, 200))
  // Readiness: database reachable and schema current. 503 with the reason otherwise.
  .get("/ready", async (c) => {
    const readiness = await Health.readiness();
    return c.json({ status: "ready" as const, ...readiness }, 200);
  });
