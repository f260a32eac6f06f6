import { DrizzleQueryError } from "drizzle-orm";

/**
 * What of an error may leave the process, in a log line or a Sentry report.
 *
 * drizzle wraps every failed query in an error whose message (and so its stack's first line)
 * lists the query's parameters: note titles and bodies, emails, password and token hashes. That
 * text is replaced by the SQL alone, and the database's own error is kept as the cause, because
 * it is the part that says what went wrong ("deadlock detected", "connection ended").
 */
export function redactError(error: unknown, seen = new WeakSet<object>()): unknown {
  if (!(error instanceof Error)) return error;
  // A cause chain can loop back on itself; the second visit stops the walk.
  if (seen.has(error)) return undefined;
  seen.add(error);
  if (!(error instanceof DrizzleQueryError)) {
    if (error.cause === undefined) return error;
    const cause = redactError(error.cause, seen);
    if (cause === error.cause) return error;
    return copyWith(error, error.message, cause);
  }
  return copyWith(error, `Failed query: ${error.query}`, redactError(error.cause, seen));
}

/**
 * The same rule for text that already left an error (a Sentry event's exception value, from
 * paths that never pass through `redactError`: the SDK's own handlers for uncaught errors, the
 * Lambda wrapper).
 */
export function redactQueryText(text: string): string {
  return text.startsWith("Failed query: ") ? text.replace(/\nparams: [\s\S]*$/, "") : text;
}

function copyWith(error: Error, message: string, cause: unknown): Error {
  const copy: Error & { code?: unknown } = new Error(
    message,
    cause === undefined ? undefined : { cause },
  );
  copy.name = error.name;
  if ("code" in error) copy.code = error.code;
  // The stack begins with "<name>: <message>"; the frames after it are kept.
  const stack = error.stack ?? "";
  const head = `${error.name}: ${error.message}`;
  copy.stack = stack.startsWith(head)
    ? `${error.name}: ${message}${stack.slice(head.length)}`
    : `${error.name}: ${message}`;
  return copy;
}

/** The JSON a log line carries for an error: what helps debugging, with query parameters gone. */
export function errorFields(error: Error): Record<string, unknown> {
  // Redacted once, whole chain: what comes back has no loop (redactError cuts it).
  return fieldsOf(redactError(error) as Error);
}

function fieldsOf(error: Error): Record<string, unknown> {
  const fields: Record<string, unknown> = { name: error.name, message: error.message };
  // A database error's SQLSTATE (23505, 40P01…) is how an operator searches for it.
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") fields.code = code;
  fields.stack = error.stack;
  if (error.cause instanceof Error) fields.cause = fieldsOf(error.cause);
  return fields;
}

/** Keys whose values no operator view shows, in any payload: credentials and what opens a door. */
const SECRET_KEY =
  /pass(word|phrase)?|secret|token|api[-_]?key|authori[sz]ation|cookie|session|hash|signature|credential|otp/i;

export const HIDDEN = "[hidden]";

/**
 * A task payload as the operator console shows it: the value of every key that looks secret, or
 * that the task marks sensitive, is HIDDEN, at any depth. Whatever else is JSON is kept.
 */
export function scrubPayload(value: unknown, sensitive: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map((item) => scrubPayload(item, sensitive));
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      SECRET_KEY.test(key) || sensitive.includes(key) ? HIDDEN : scrubPayload(item, sensitive),
    ]),
  );
}

/** Enough of an error for an operator to search by, redacted; its stack stays in the logs. */
const MAX_SUMMARY_LENGTH = 1000;

export function errorSummary(error: unknown): string {
  const redacted = redactError(error);
  const text =
    redacted instanceof Error ? `${redacted.name}: ${redacted.message}` : String(redacted);
  return text.length > MAX_SUMMARY_LENGTH ? `${text.slice(0, MAX_SUMMARY_LENGTH - 1)}…` : text;
}
