import type { AppType } from "@slipway/core/api";
import { hc } from "hono/client";
import { errorReporting } from "./observability/error-reporting";

/**
 * The typed client: same origin everywhere (Vite proxy offline, CloudFront Router on AWS). Its
 * 5xx answers and calls without an answer are reported, when the site reports errors.
 */
export const createApi = (fetchImpl?: typeof fetch) =>
  hc<AppType>(import.meta.env.VITE_API_URL ?? "/", { fetch: errorReporting.fetch(fetchImpl) });

export const api = createApi();
export type Api = ReturnType<typeof createApi>;

/** A non-2xx answer: the API's `{error:{code,message,details}}` envelope, typed. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: { issues?: { path: string; message: string }[]; [key: string]: unknown },
  ) {
    super(message);
  }

  /** Field-level messages, keyed by field path ("" for the request as a whole). */
  get fields(): Record<string, string> {
    const fields: Record<string, string> = {};
    for (const issue of this.details?.issues ?? []) fields[issue.path] ??= issue.message;
    return fields;
  }
}

/** Awaits a client call, returning its JSON body (none for a 204 or 202), or throwing ApiError. */
export async function call<T>(
  request: Promise<{ ok: boolean; status: number; json(): Promise<T>; text(): Promise<string> }>,
): Promise<T> {
  const response = await request;
  if (response.ok) {
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
  const body = (await response.json().catch(() => ({}))) as {
    error?: { code?: string; message?: string; details?: ApiError["details"] };
  };
  throw new ApiError(
    response.status,
    body.error?.code ?? "unknown",
    body.error?.message ?? `Request failed (${response.status})`,
    body.error?.details,
  );
}

/** Where to go after signing in: only a path on this site (never `//evil.example`). */
export function safeNext(next: string | null | undefined): string {
  return next?.startsWith("/") && !next.startsWith("//") ? next : "/";
}
