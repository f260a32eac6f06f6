import type { ValidationTargets } from "hono";
import { validator } from "hono-openapi";
import type { z } from "zod";
import { ValidationError } from "../error";

/**
 * Validates a request part with a module's zod schema and registers the schema for the OpenAPI
 * document (hono-openapi). A failure throws our ValidationError, so every invalid request gets the
 * same field-level 400 from the one error handler.
 */
export function validate<Target extends keyof ValidationTargets, Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
) {
  return validator(target, schema, (result) => {
    if (!result.success) {
      throw ValidationError.fromIssues(result.error, `Invalid request ${target}`);
    }
  });
}
