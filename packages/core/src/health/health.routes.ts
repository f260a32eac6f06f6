import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as z from "zod";
import { errorResponse, jsonResponse, publicAccess } from "../http/openapi";
import * as Health from "./health";

const tags = ["health"];

export const HealthRoutes = new Hono()
  // Liveness: the process serves HTTP. The container health check uses it, so a database
  // outage does not make ECS kill every task.
  .get(
    "/",
    describeRoute({
      operationId: "getLiveness",
      summary: "Liveness",
      tags,
      security: publicAccess,
      responses: { 200: jsonResponse("Serving", { status: z.literal("ok") }) },
    }),
    (c) => c.json({ status: "ok" as const }, 200),
  )
  // Readiness: database reachable and schema current. 503 with the reason otherwise.
  .get(
    "/ready",
    describeRoute({
      operationId: "getReadiness",
      summary: "Readiness: database reachable, every migration applied",
      tags,
      security: publicAccess,
      responses: {
        200: jsonResponse("Ready", {
          status: z.literal("ready"),
          migrations: z.object({ applied: z.number() }),
        }),
        503: errorResponse(
          503,
          "`not_ready`: the database does not answer, or migrations are pending (`details.pending`)",
        ),
      },
    }),
    async (c) => {
      const readiness = await Health.readiness();
      return c.json({ status: "ready" as const, ...readiness }, 200);
    },
  );
