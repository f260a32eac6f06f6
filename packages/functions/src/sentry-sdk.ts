/**
 * The part of Sentry the Lambdas use, re-exported by name from its light Node SDK (no
 * OpenTelemetry: no tracing runs here). sentry.ts imports this module only when a DSN is set;
 * importing the package itself dynamically would keep all of it, as a module namespace cannot be
 * tree-shaken (ADR 022).
 */
export { captureEvent, captureException, flush, init, withScope } from "@sentry/node-core/light";
