import type { ErrorBody } from "../src/error";

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

/** The `{code, message, details}` of an error response. */
export async function errorOf(response: Response): Promise<ErrorBody["error"]> {
  return ((await response.json()) as ErrorBody).error;
}

/** The field paths a validation error names (`""` for the input as a whole). */
export async function issuesOf(response: Response): Promise<string[]> {
  const { details } = await errorOf(response);
  return (details as { issues?: { path: string }[] } | undefined)?.issues?.map((i) => i.path) ?? [];
}
