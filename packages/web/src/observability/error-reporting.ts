import {
  type Capture,
  type Failure,
  networkFailure,
  type ReportingOptions,
  rejectionFailure,
  responseFailure,
  uncaughtFailure,
} from "./failures";

/**
 * Error reporting from the browser, when the build has a DSN (SLIPWAY_WEB_SENTRY_DSN, ADR 031).
 * This part is in the initial bundle and small: it listens for uncaught errors and unhandled
 * rejections, watches the API client's calls, and keeps what fails until the Sentry SDK, a chunk
 * of its own (sentry.ts), has loaded after the first render. Without a DSN the build leaves that
 * chunk out altogether, and every function here does nothing.
 */

export type LoadSdk = () => Promise<{ start(options: ReportingOptions): Capture }>;

/** Failures kept while the SDK loads; a page failing in a loop does not grow without bound. */
const QUEUE_LIMIT = 30;

export function createErrorReporting(options: ReportingOptions, load: LoadSdk) {
  let capture: Capture | undefined;
  let queue: Failure[] | undefined; // undefined: not started (or no DSN): nothing is kept
  let loading: Promise<void> | undefined;

  function report(failure: Failure | undefined): void {
    if (!failure || !queue) return;
    if (capture) capture(failure);
    else if (queue.length < QUEUE_LIMIT) queue.push(failure);
  }

  return {
    /** Listens at once; loads the SDK when the browser is next idle (after the first render). */
    start(target: Window = window): void {
      if (!options.dsn || queue) return;
      queue = [];
      target.addEventListener("error", (event) => report(uncaughtFailure(event)));
      target.addEventListener("unhandledrejection", (event) =>
        report(rejectionFailure(event.reason)),
      );
      const begin = () => {
        loading = load().then(
          (loaded) => {
            capture = loaded.start(options);
            for (const failure of queue?.splice(0) ?? []) capture(failure);
          },
          () => {
            // The chunk did not load (offline, a deploy replaced it): nowhere to report to.
            queue = undefined;
          },
        );
      };
      if (typeof target.requestIdleCallback === "function")
        target.requestIdleCallback(begin, { timeout: 2000 });
      else target.setTimeout(begin, 0);
    },

    report,

    /**
     * The API client's fetch: reports a 5xx answer (with the request's trace id) and a call that
     * got no answer, and hands back exactly what the fetch gave. Reads `fetch` at call time, so
     * a test's stand-in applies.
     */
    fetch(fetchImpl?: typeof fetch): typeof fetch {
      return async (input, init) => {
        const method = init?.method ?? (input instanceof Request ? input.method : "GET");
        const url = input instanceof Request ? input.url : String(input);
        let response: Response;
        try {
          response = await (fetchImpl ?? globalThis.fetch)(input, init);
        } catch (thrown) {
          report(networkFailure(method, url, thrown));
          throw thrown;
        }
        report(responseFailure(method, url, response));
        return response;
      };
    },

    /** Settles once the SDK has loaded (or failed to): for tests. */
    loaded: (): Promise<void> => loading ?? Promise.resolve(),
  };
}

export type ErrorReporting = ReturnType<typeof createErrorReporting>;

/** No DSN: nothing is listened to, kept or wrapped. */
const off: ErrorReporting = {
  start: () => {},
  report: () => {},
  fetch: (fetchImpl) => fetchImpl ?? ((input, init) => globalThis.fetch(input, init)),
  loaded: () => Promise.resolve(),
};

/**
 * The site's reporter. The condition is decided when the site is built (vite.config.ts defines
 * the DSN): with none, the build keeps `off` alone, and neither this file's reporting code nor
 * the SDK's chunk is in it.
 */
export const errorReporting: ErrorReporting = import.meta.env.SLIPWAY_WEB_SENTRY_DSN
  ? createErrorReporting(
      {
        dsn: import.meta.env.SLIPWAY_WEB_SENTRY_DSN,
        release: import.meta.env.SLIPWAY_RELEASE ?? "local",
        environment: import.meta.env.SLIPWAY_STAGE ?? "local",
      },
      () => import("./sentry"),
    )
  : off;
