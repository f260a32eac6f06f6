import { resolver } from "hono-openapi";
import * as z from "zod";
import { type ErrorCode, errorStatus, type FieldIssue as FieldIssueShape } from "../error";

/** One field a 400 `validation_failed` names (`FieldIssue` in error.ts). */
export const FieldIssue = z.object({
  path: z.string().describe('Dotted path of the field ("" for the input as a whole)'),
  message: z.string(),
  limitBytes: z.number().optional().describe("A size over its limit: the limit"),
  allowed: z
    .array(z.string())
    .optional()
    .describe("A value outside a fixed set: the values accepted"),
}) satisfies z.ZodType<FieldIssueShape>;

/** The error envelope every non-2xx response uses (http/errors.ts). */
export const ErrorBody = z.object({
  error: z.object({
    code: z.enum(Object.keys(errorStatus) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    // Each error code says what else it carries; a 400 validation_failed names its fields.
    details: z.looseObject({ issues: z.array(FieldIssue).optional() }).optional(),
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
