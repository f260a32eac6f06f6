import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * One error hierarchy for the whole app. Domain code throws these; the HTTP layer maps them to
 * `{ error: { code, message, details? } }` with the status below, in one place (http/errors.ts).
 */

export const errorStatus = {
  bad_request: 400,
  malformed_json: 400,
  validation_failed: 400,
  /** An account token (email verification, password reset, email change) unknown, used or expired. */
  invalid_token: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  /** A per-user count quota (notes): delete some to add more. */
  quota_exceeded: 409,
  payload_too_large: 413,
  /** The per-user attachment bytes quota: the upload would not fit. */
  storage_quota_exceeded: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  not_ready: 503,
  database_unavailable: 503,
  server_busy: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof errorStatus;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  get status(): ContentfulStatusCode {
    return errorStatus[this.code];
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

export class NotFoundError extends AppError {
  constructor(message = "Not found", details?: unknown) {
    super("not_found", message, details);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details?: unknown) {
    super("conflict", message, details);
  }
}

export interface FieldIssue {
  /** Dotted path of the field in the input (`""` for the input as a whole). */
  path: string;
  message: string;
  /** A size over its limit: the limit, so a client can word it itself instead of parsing `message`. */
  limitBytes?: number;
  /** A value outside a fixed set: the values accepted. */
  allowed?: readonly string[];
}

/** A schema issue as zod and Standard Schema report it: a path of keys (or `{ key }` segments). */
export interface SchemaIssue {
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
  readonly message: string;
}

export class ValidationError extends AppError {
  constructor(
    readonly issues: FieldIssue[],
    message = "The request is not valid",
  ) {
    super("validation_failed", message, { issues });
  }

  /** From a schema's issues, each path joined with dots: how every layer reports invalid input. */
  static fromIssues(issues: readonly SchemaIssue[], message?: string): ValidationError {
    return new ValidationError(
      issues.map((issue) => ({
        path: (issue.path ?? [])
          .map((segment) => String(typeof segment === "object" ? segment.key : segment))
          .join("."),
        message: issue.message,
      })),
      message,
    );
  }
}
