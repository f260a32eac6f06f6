import {
  BrowserClient,
  dedupeIntegration,
  defaultStackParser,
  linkedErrorsIntegration,
  makeFetchTransport,
  Scope,
} from "@sentry/browser";
import type { Capture, ReportingOptions } from "./failures";
import { dropBreadcrumb, scrubEvent } from "./scrub";

/**
 * The lazily loaded chunk: a Sentry client of the site's own, not the SDK's global `init`. Its
 * default integrations are left out on purpose: the global handlers (error-reporting.ts listens
 * from the first script on, before this loads), breadcrumbs (they hold URLs and console output),
 * the page's request data, sessions (an envelope per page view) and the wrappers around timers
 * and listeners. What stays: an error's causes, and one report for a repeated identical error.
 */
export function start(options: ReportingOptions): Capture {
  const client = new BrowserClient({
    dsn: options.dsn,
    release: options.release,
    environment: options.environment,
    transport: makeFetchTransport,
    stackParser: defaultStackParser,
    integrations: [linkedErrorsIntegration(), dedupeIntegration()],
    sendDefaultPii: false,
    sendClientReports: false,
    beforeSend: scrubEvent,
    beforeBreadcrumb: dropBreadcrumb,
  });
  const scope = new Scope();
  scope.setClient(client);
  client.init();
  return (failure) => {
    const reportScope = scope.clone();
    reportScope.setTags(failure.tags);
    if (failure.fingerprint) reportScope.setFingerprint(failure.fingerprint);
    // The API's trace: the event's trace context names it, so Sentry shows the report in the
    // request's trace (the server sends its spans under the same id).
    if (failure.traceId)
      reportScope.setPropagationContext({ traceId: failure.traceId, sampleRand: Math.random() });
    reportScope.captureException(failure.error);
  };
}
