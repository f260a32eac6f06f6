/**
 * The part of @sentry/node that error-reporting.ts uses, re-exported by name. It is imported
 * dynamically (only with a DSN), and a dynamic import of the package itself would keep all of
 * it in every bundle: a module namespace cannot be tree-shaken (ADR 022).
 */
export { captureEvent, captureException, flush, init, withScope } from "@sentry/node";
