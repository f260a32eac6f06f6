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
