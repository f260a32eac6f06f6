/**
 * The browser-facing security headers of the site, in one place: CloudFront sends them on AWS
 * (infra/web.ts, a response headers policy), and `vite preview` sends them offline, where the
 * e2e test runs the production build under them in Chromium. (The dev server cannot: its hot
 * reload injects inline scripts.)
 *
 * The CSP allows the site's own files and API, and `connect-src` adds the origins the browser
 * uploads to (the bucket's, on AWS; offline the store is same-origin). Downloads are navigations
 * to presigned links, which `connect-src` does not govern.
 */
export function contentSecurityPolicy(uploadOrigins: string[] = []): string {
  const directives: Record<string, string[]> = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'", ...uploadOrigins],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
  };
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(" ")}`)
    .join("; ");
}

/** Two years (the preload list asks for at least one); CloudFront redirects HTTP to HTTPS anyway. */
export const HSTS_MAX_AGE_SECONDS = 63_072_000;
export const REFERRER_POLICY = "strict-origin-when-cross-origin";
/** Features the app never uses, switched off for it and anything it might embed. */
export const PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()";

/** The same headers as a plain map, for servers that take one (`vite preview`). */
export function securityHeaders(uploadOrigins: string[] = []): Record<string, string> {
  return {
    "Content-Security-Policy": contentSecurityPolicy(uploadOrigins),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": REFERRER_POLICY,
    "Permissions-Policy": PERMISSIONS_POLICY,
  };
}
