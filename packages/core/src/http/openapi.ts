import type { Env, Hono, MiddlewareHandler, Schema } from "hono";
import { type GenerateSpecOptions, generateSpecs, resolver } from "hono-openapi";
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
    message: z.string().describe("For people: the code is what a client branches on"),
    // Each error code says what else it carries; these are the fields clients act on.
    details: z
      .looseObject({
        issues: z.array(FieldIssue).optional().describe("validation_failed: the fields at fault"),
        retryAfterSeconds: z
          .number()
          .optional()
          .describe("rate_limited, server_busy: the wait, as in Retry-After"),
        limit: z.number().optional().describe("quota_exceeded, rate_limited: the limit"),
        used: z.number().optional().describe("quota_exceeded: how much of it is used"),
        limitBytes: z
          .number()
          .optional()
          .describe("payload_too_large, storage_quota_exceeded: the limit in bytes"),
        usedBytes: z.number().optional().describe("storage_quota_exceeded: the bytes held"),
        allowed: z
          .array(z.string())
          .optional()
          .describe("method_not_allowed: the methods the path takes"),
      })
      .optional(),
  }),
});

/** The security requirement of an operation that needs the session cookie. */
export const signedIn: SecurityRequirement[] = [{ session: [] }];
/** The explicit "no security" of a public operation. */
export const publicAccess: SecurityRequirement[] = [];
/** An operation that uses the session when there is one and works without (signing out). */
export const optionalSession: SecurityRequirement[] = [{}, { session: [] }];

const ERROR_SCHEMA = { $ref: "#/components/schemas/Error" };
const RETRY_AFTER = { $ref: "#/components/headers/RetryAfter" };
const PLATFORM_HEADERS = {
  "x-request-id": { $ref: "#/components/headers/RequestId" },
  "x-trace-id": { $ref: "#/components/headers/TraceId" },
};

/** What each status means on any operation; a route may word its own (`errorResponse`). */
const reasons = {
  400: "Invalid input: `validation_failed` names each field in `details.issues`; `malformed_json` for a body that is not JSON; `bad_request` deployed, when the CDN sent no valid client address (a misconfigured origin request policy)",
  401: "Not signed in (no session, or it expired or was revoked)",
  403: "Refused: an unsafe request without an allowed `Origin` (CSRF), or, deployed, a request that did not come through the site",
  404: "Not found, or not yours",
  409: "Conflicts with existing data",
  413: "Body over the size limit (`details.limitBytes`)",
  415: "The body is not `application/json`",
  429: "Too many requests: wait `Retry-After` seconds",
  500: "Unexpected error (logged with the request id); the message is generic",
  503: "Unavailable for now: the database is unreachable (`database_unavailable`, with `Retry-After`)",
} as const;

export type ErrorStatus = keyof typeof reasons;
type ResponseObject = Exclude<GenerateSpecOptions["defaultValidationErrorResponse"], boolean>;
type ResponseHeader = NonNullable<ResponseObject["headers"]>[string];
type Components = NonNullable<GenerateSpecOptions["documentation"]["components"]>;
type SchemaObject = NonNullable<Components["schemas"]>[string];
type SecurityRequirement = Record<string, string[]>;

/** An error response: the shared envelope, and `Retry-After` where the status promises one. */
export function errorResponse(
  status: ErrorStatus,
  description: string = reasons[status],
): ResponseObject {
  const headers: Record<string, ResponseHeader> | undefined =
    status === 429
      ? { "Retry-After": RETRY_AFTER }
      : status === 503
        ? {
            "Retry-After": {
              description: "Seconds to wait, when the outage is expected to pass",
              schema: { type: "integer", minimum: 1 },
            },
          }
        : undefined;
  return {
    description,
    ...(headers ? { headers } : {}),
    content: { "application/json": { schema: ERROR_SCHEMA } },
  };
}

/** Error responses for the given statuses, each with the shared envelope. */
export function errorResponses(...statuses: ErrorStatus[]) {
  return Object.fromEntries(statuses.map((status) => [status, errorResponse(status)]));
}

/**
 * A JSON success response. The schema is the route's *output* (`io: "output"`): every field it
 * declares is required and no other is allowed, which is what the response validation in tests
 * (test/contract.ts) holds each response to.
 */
export function jsonResponse(description: string, shape: z.ZodRawShape | z.ZodType) {
  const schema = shape instanceof z.ZodType ? shape : z.object(shape);
  return {
    description,
    content: {
      "application/json": { schema: resolver(schema, { options: { io: "output" } }) },
    },
  };
}

/** The headers of a conditional read's 200 and 304 (http/conditional.ts). */
export const revalidatedHeaders = {
  ETag: {
    description: "Strong validator of this representation: send it back as `If-None-Match`",
    required: true,
    schema: { type: "string" },
  },
  "Cache-Control": {
    description: "`private, no-cache`: one user's; a browser revalidates, no shared cache keeps it",
    required: true,
    schema: { type: "string", enum: ["private, no-cache"] },
  },
} satisfies Record<string, ResponseHeader>;

/** 304 of a conditional read: no body, the same validator. */
export const notModifiedResponse: ResponseObject = {
  description: "Not modified: the `If-None-Match` tag is current; the client's copy stands",
  headers: revalidatedHeaders,
};

const unsafeMethods = new Set(["post", "put", "patch", "delete"]);

/**
 * What the platform answers on every operation, whatever the route (http/app.ts, http/errors.ts,
 * http/client-address.ts): 400 and 403 deployed, for what did not come through the site as it
 * should (and on unsafe methods 403 for CSRF, 400 `malformed_json`), 500, and 503 (the session
 * cookie is looked up in the database); on unsafe methods, before any handler, also 413 and 415.
 * A status the route describes itself keeps its wording.
 */
function platformStatuses(method: string): ErrorStatus[] {
  return unsafeMethods.has(method) ? [400, 403, 413, 415, 500, 503] : [400, 403, 500, 503];
}

type Operation = { responses?: Record<string, unknown> };
type Document = Awaited<ReturnType<typeof generateSpecs>>;

/** Adds the platform's responses (above) to every operation of a generated document. */
export function withPlatformResponses(document: Document): Document {
  for (const item of Object.values(document.paths)) {
    for (const [method, operation] of Object.entries(item) as [string, Operation][]) {
      if (typeof operation !== "object" || operation === null || !("responses" in operation)) {
        continue;
      }
      const responses = operation.responses ?? {};
      for (const status of platformStatuses(method)) {
        responses[status] ??= errorResponse(status);
      }
      // Every response, whatever the route, carries the request's ids (http/app.ts).
      for (const response of Object.values(responses) as { headers?: object }[]) {
        response.headers = { ...PLATFORM_HEADERS, ...response.headers };
      }
      operation.responses = responses;
    }
  }
  return document;
}

export interface DocumentOptions {
  info: NonNullable<GenerateSpecOptions["documentation"]["info"]>;
  servers: NonNullable<GenerateSpecOptions["documentation"]["servers"]>;
  tags: NonNullable<GenerateSpecOptions["documentation"]["tags"]>;
  /** The session cookie's name in force (it differs where cookies are Secure). */
  sessionCookie: string;
}

/**
 * The OpenAPI document of `app` and the handler that serves it: what hono-openapi generates from
 * the routes' `describeRoute` blocks and the zod schemas of their validators, with the shared
 * components (the one error schema, `Retry-After`, the session cookie) and the platform's
 * responses. Generated when first asked for, then kept.
 */
export function createOpenAPIDocument<E extends Env, S extends Schema, P extends string>(
  app: Hono<E, S, P>,
  options: DocumentOptions,
): { handler: MiddlewareHandler; document: () => Promise<Document> } {
  let document: Promise<Document> | undefined;
  const generate = async (): Promise<Document> =>
    withPlatformResponses(
      await generateSpecs(app, {
        // Its default drops paths whose last segment has a dot, like this one.
        excludeStaticFile: false,
        // A route that validates input can refuse it; its 400 is ours, not hono-openapi's shape.
        defaultValidationErrorResponse: errorResponse(400, reasons[400]),
        documentation: {
          openapi: "3.1.0",
          info: options.info,
          servers: options.servers,
          tags: options.tags,
          components: {
            schemas: { Error: await errorSchema() },
            headers: {
              RequestId: {
                description:
                  "The request's id, in every log line it wrote (a well-formed incoming `x-request-id` is kept)",
                required: true,
                schema: { type: "string" },
              },
              TraceId: {
                description:
                  "The request's W3C trace id (32 lower-case hex digits), in every log line of the request and of the tasks it queued: a valid incoming `traceparent` is continued, anything else starts a new trace. Quote it in error reports; offline, `GET /api/dev/traces/{traceId}` shows the trace",
                required: true,
                schema: { type: "string", pattern: "^[0-9a-f]{32}$" },
              },
              RetryAfter: {
                description: "Seconds to wait before trying again (whole seconds, at least 1)",
                required: true,
                schema: { type: "integer", minimum: 1 },
              },
            },
            securitySchemes: {
              session: {
                type: "apiKey",
                in: "cookie",
                name: options.sessionCookie,
                description:
                  "The session cookie that signup and login set (HttpOnly, SameSite=Lax); browsers send it themselves",
              },
            },
          },
        },
      }),
    );
  const get = () => {
    document ??= generate();
    return document;
  };
  return { handler: async (c) => c.json(await get()), document: get };
}

/**
 * The error envelope as JSON Schema, for `components.schemas.Error`: converted as the routes'
 * schemas are (hono-openapi's converter, loaded only when the document is generated, so the
 * server's boot does not carry zod's JSON Schema code; ADR 022).
 */
async function errorSchema(): Promise<SchemaObject> {
  const { schema } = await resolver(ErrorBody, { options: { io: "output" } }).toOpenAPISchema();
  return { description: "The error envelope of every non-2xx response (ADR 003)", ...schema };
}
