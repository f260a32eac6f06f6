import { resolver } from "hono-openapi";
import { z } from "zod";
import { type ErrorCode, errorStatus } from "../error";

/** The error envelope every non-2xx response uses (http/errors.ts). */
export const ErrorBody = z.object({
  error: z.object({
    code: z.enum(Object.keys(errorStatus) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

const reasons: Record<number, string> = {
  400: "Malformed JSON or invalid fields (details.issues names them)",
  401: "Not signed in",
  403: "Cross-origin or missing Origin on an unsafe request",
  404: "Not found, or not yours",
  409: "Conflicts with existing data",
  413: "Body over the size limit",
  415: "Body is not JSON",
  429: "Too many attempts",
  503: "Not ready (database unreachable or migrations pending)",
};

export function jsonResponse(description: string, shape: z.ZodRawShape | z.ZodType) {
  const schema = shape instanceof z.ZodType ? shape : z.object(shape);
  return { description, content: { "application/json": { schema: resolver(schema) } } };
}

/** OpenAPI responses for the given error statuses, all with the error envelope. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [status, jsonResponse(reasons[status] ?? "Error", ErrorBody)]),
  );
}
