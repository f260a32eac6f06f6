import type { ValidationTargets } from "hono";
import { validator } from "hono-openapi";
import type { z } from "zod";
import { type SchemaIssue, ValidationError } from "../error";
import { unstorableText } from "./text";

/**
 * Validates a request part with a module's zod schema and registers the schema for the OpenAPI
 * document (hono-openapi). A failure throws our ValidationError, so every invalid request gets the
 * same field-level 400 from the one error handler.
 *
 * Every route's input also passes one check no schema has to remember: no string in it, value or
 * key, holds what Postgres cannot store (http/text.ts). It looks at the input as sent, not as
 * parsed, so a schema that passes a field through untyped (`z.unknown()`) is covered too.
 */
export function validate<Target extends keyof ValidationTargets, Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
) {
  return validator(target, schema, (result) => {
    const issues: readonly SchemaIssue[] = [
      ...(result.success ? [] : result.error),
      ...unstorableText(result.data),
    ];
    if (issues.length > 0) {
      const { issues: fields } = ValidationError.fromIssues(issues);
      throw new ValidationError(distinct(fields), `Invalid request ${target}`);
    }
  });
}

/** A schema using `text()` and the check above report the same issue: it is listed once. */
function distinct<Issue extends { path: string; message: string }>(issues: Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = JSON.stringify([issue.path, issue.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
