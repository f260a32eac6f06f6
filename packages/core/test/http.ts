import { ErrorBody } from "../src/http/openapi";

/** The origin tests send: one of the offline defaults in config.allowedOrigins. */
export const ORIGIN = "http://localhost:3000";

/** An unsafe same-origin JSON request, as the site's fetch sends it. */
export function jsonRequest(
  body: unknown,
  init: { method?: string; headers?: Record<string, string> } = {},
) {
  return {
    method: init.method ?? "POST",
    headers: { "content-type": "application/json", origin: ORIGIN, ...init.headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

/**
 * The `{code, message, details}` of an error response, checked against the documented envelope
 * (errors come from the one error handler, so the typed client cannot know their shape).
 */
export async function errorOf(response: { json(): Promise<unknown> }) {
  return ErrorBody.parse(await response.json()).error;
}

/** The field paths a validation error names (`""` for the input as a whole). */
export async function issuesOf(response: { json(): Promise<unknown> }): Promise<string[]> {
  const { details } = await errorOf(response);
  return details?.issues?.map((issue) => issue.path) ?? [];
}
