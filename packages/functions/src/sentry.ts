import { config } from "@slipway/core/config";
import {
  flushErrors,
  initErrorReporting,
  reportError,
} from "@slipway/core/observability/error-reporting";
import type { Context } from "aws-lambda";

/**
 * Reports what a Lambda handler throws to Sentry, and sends the reports before the invocation
 * returns (Lambda freezes the process once it has), when a DSN is configured. Without one the
 * SDK is never imported. With one, Sentry's light Node SDK (sentry-sdk.ts) rather than
 * @sentry/aws-serverless, whose OpenTelemetry setup tripled a cold start's import time for
 * tracing nobody records, and loaded with the first report, not at the cold start (deferred:
 * observability/error-reporting.ts; ADR 022).
 */
export async function withErrorReporting<
  // biome-ignore lint/suspicious/noExplicitAny: a wrapper for handlers of any event type
  H extends (event: any, context: Context) => Promise<unknown>,
>(handler: H): Promise<H> {
  if (!config().sentry.dsn) return handler;
  await initErrorReporting(() => import("./sentry-sdk"), { defer: true });
  const wrapped = async (event: unknown, context: Context) => {
    try {
      return await handler(event, context);
    } catch (error) {
      // What the handler's own reporting did not catch: the invocation fails with it.
      reportError(error, { requestId: context?.awsRequestId });
      throw error;
    } finally {
      await flushErrors();
    }
  };
  return wrapped as H;
}
