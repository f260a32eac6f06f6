import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as z from "zod";
import { NotFoundError } from "../error";
import {
  type ErrorStatus,
  errorResponse,
  errorResponses,
  jsonResponse,
  publicAccess,
} from "../http/openapi";
import { validate } from "../http/validate";
import type { TaskHandler } from "../task/task";
import { offlineOnly } from "./dev.routes";
import { DevFaults } from "./faults";

const Fault = z.object({ task: z.string(), message: z.string() });
const SetFault = z.object({ message: z.string().trim().min(1).max(500) });
const TaskParam = z.object({ task: z.string().min(1).max(100) });

const doc = (
  operationId: string,
  summary: string,
  body: ReturnType<typeof jsonResponse>,
  ...more: ErrorStatus[]
) =>
  describeRoute({
    operationId,
    summary,
    tags: ["dev"],
    security: publicAccess,
    responses: {
      200: body,
      403: errorResponse(403, "`forbidden`: not from this machine, or not addressed to localhost"),
      404: errorResponse(
        404,
        "`not_found`: a deployed stage (the dev tools exist only offline), or no such task or fault",
      ),
      ...errorResponses(...more),
    },
  });

/** The offline switch that makes a task fail on purpose (faults.ts), over the app's tasks. */
export const createDevFaultRoutes = (tasks: readonly TaskHandler[]) => {
  const known = (task: string) => {
    if (!tasks.some((t) => t.name === task)) {
      throw new NotFoundError(`No task "${task}"`, { tasks: tasks.map((t) => t.name) });
    }
  };
  return new Hono()
    .use(offlineOnly)
    .get(
      "/",
      doc(
        "listDevFaults",
        "Tasks made to fail on purpose",
        jsonResponse("The faults", { faults: z.array(Fault) }),
      ),
      (c) => c.json({ faults: DevFaults.list() }, 200),
    )
    .put(
      "/:task",
      doc(
        "setDevFault",
        "Make every delivery of a task fail with this message, until cleared",
        jsonResponse("Set", Fault),
        400,
        429,
      ),
      validate("param", TaskParam),
      validate("json", SetFault),
      (c) => {
        const { task } = c.req.valid("param");
        const { message } = c.req.valid("json");
        known(task);
        DevFaults.set(task, message);
        return c.json({ task, message }, 200);
      },
    )
    .delete(
      "/:task",
      doc(
        "clearDevFault",
        "Let a task run again",
        jsonResponse("Cleared", { task: z.string() }),
        429,
      ),
      validate("param", TaskParam),
      (c) => {
        const { task } = c.req.valid("param");
        if (!DevFaults.clear(task)) throw new NotFoundError(`No fault on "${task}"`);
        return c.json({ task }, 200);
      },
    );
};
