/**
 * What of a browser error report may leave the page: the same promise as the server's
 * (packages/core/src/observability/error-reporting.ts, redact.ts): ids, the release, what failed
 * and where in the code; never emails, note text, tokens, query strings, cookies or headers.
 *
 * The SDK adds the page's URL, its headers (Referer, User-Agent) and breadcrumbs (clicks, console
 * output, fetched URLs with their queries); messages can quote what they choked on (Chromium's
 * JSON.parse error quotes the text it was given, a note's body perhaps). So: no breadcrumbs, no
 * request but its path, no user, no extra data, and every message and URL left in the event
 * scrubbed of addresses, quoted text, queries and token-like strings.
 */

interface Frame {
  filename?: string;
  abs_path?: string;
  vars?: unknown;
  pre_context?: unknown;
  context_line?: unknown;
  post_context?: unknown;
}

/** The fields of a Sentry event this reads or clears (a structural subset of `ErrorEvent`). */
export interface ScrubbableEvent {
  message?: string;
  transaction?: string;
  request?: { url?: string };
  user?: unknown;
  extra?: unknown;
  breadcrumbs?: unknown[];
  contexts?: Record<string, unknown>;
  logentry?: { message?: string; params?: unknown[] };
  exception?: { values?: { value?: string; stacktrace?: { frames?: Frame[] } }[] };
}

const EMAIL = /[^\s@"'<>()[\]{},;:]+@[^\s@"'<>()[\]{},;:]+\.[^\s@"'<>()[\]{},;:]+/g;
/** Text in quotes, as engines quote the input an error is about. */
const QUOTED = /"[^"\n]*"|“[^”\n]*”/g;
/** A query string or fragment after a URL or path (`?token=…`, `#access_token=…`). */
const QUERY = /(?<=[^\s?#])[?#][^\s"'<>)]+/g;
/** A long unbroken run of token characters: session and reset tokens, hashes, keys. */
const TOKEN = /[A-Za-z0-9_-]{24,}/g;

export function scrubText(text: string): string {
  return text
    .replace(QUOTED, '"[text]"')
    .replace(QUERY, "")
    .replace(EMAIL, "[email]")
    .replace(TOKEN, "[token]");
}

/** A URL keeps its origin and path; the query, the fragment and any credentials go. */
export function scrubUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url.replace(/[?#].*$/s, "");
  }
}

/** `beforeSend`: the event, scrubbed in place. */
export function scrubEvent<E extends ScrubbableEvent>(event: E): E {
  delete event.user;
  delete event.extra;
  delete event.breadcrumbs;
  // Only the trace (ours) stays: the others describe the device, not the failure.
  if (event.contexts) event.contexts = pick(event.contexts, "trace");
  if (event.request) {
    event.request = event.request.url ? { url: scrubUrl(event.request.url) } : {};
  }
  if (event.message) event.message = scrubText(event.message);
  if (event.transaction) event.transaction = scrubText(event.transaction);
  if (event.logentry) {
    event.logentry = event.logentry.message ? { message: scrubText(event.logentry.message) } : {};
  }
  for (const exception of event.exception?.values ?? []) {
    if (exception.value) exception.value = scrubText(exception.value);
    for (const frame of exception.stacktrace?.frames ?? []) {
      if (frame.filename) frame.filename = scrubUrl(frame.filename);
      if (frame.abs_path) frame.abs_path = scrubUrl(frame.abs_path);
      delete frame.vars;
      delete frame.pre_context;
      delete frame.context_line;
      delete frame.post_context;
    }
  }
  return event;
}

/** `beforeBreadcrumb`: none are kept (they hold URLs with tokens, console output, DOM text). */
export function dropBreadcrumb(): null {
  return null;
}

function pick(record: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => keys.includes(key)));
}
