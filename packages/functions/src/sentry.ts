import { config } from "@slipway/core/config";
import { initErrorReporting } from "@slipway/core/observability/error-reporting";

/**
 * Wraps a Lambda handler with Sentry's AWS integration (flushes before the invocation returns)
 * when a DSN is configured. Without one the SDK is never imported: no cold-start cost.
 */
// biome-ignore lint/suspicious/noExplicitAny: a wrapper for handlers of any event type
export async function withErrorReporting<H extends (...args: any[]) => Promise<unknown>>(
  handler: H,
): Promise<H> {
  if (!config().sentry.dsn) return handler;
  const Sentry = await import("@sentry/aws-serverless");
  await initErrorReporting(async () => Sentry);
  return Sentry.wrapHandler(handler) as unknown as H;
}
