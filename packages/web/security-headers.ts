/**
 * The browser-facing security headers of the site, in one place: CloudFront sends them on AWS
 * (infra/web.ts, a response headers policy), and `vite preview` sends them offline, where the
 * e2e test runs the production build under them in Chromium. (The dev server cannot: its hot
 * reload injects inline scripts.)
 *
 * The CSP allows the site's own files and API, and `connect-src` adds the origins the browser
 * uploads to (the bucket's, on AWS; offline the store is same-origin) and, when the site reports
 * its errors, Sentry's ingest origin (errorReportingOrigins). Downloads are navigations to
 * presigned links, which `connect-src` does not govern.
 */
export function contentSecurityPolicy(connectOrigins: string[] = []): string {
  const directives: Record<string, string[]> = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'", ...connectOrigins],
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
export function securityHeaders(connectOrigins: string[] = []): Record<string, string> {
  return {
    "Content-Security-Policy": contentSecurityPolicy(connectOrigins),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": REFERRER_POLICY,
    "Permissions-Policy": PERMISSIONS_POLICY,
  };
}

/**
 * The site's public Sentry DSN (SLIPWAY_WEB_SENTRY_DSN: read by vite.config.ts into the build and
 * the preview headers, and by infra/web.ts on deploy) as the one origin the browser must reach to
 * report: the SDK posts its envelopes to `<origin>[/<path>]/api/<project>/envelope/`. No DSN, no
 * origin. A value that is not a DSN is refused by name, never read as "off".
 */
export function errorReportingOrigins(
  dsn: string | undefined,
  name = "SLIPWAY_WEB_SENTRY_DSN",
): string[] {
  if (!dsn) return [];
  // Inferred, not annotated: infra (Node's URL) and the site (the DOM's) both compile this.
  const url = (() => {
    try {
      return new URL(dsn);
    } catch {
      throw new Error(`${name} is not a URL: ${JSON.stringify(dsn)}`);
    }
  })();
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname)))
    throw new Error(`${name} must be https (http only on loopback), got ${url.protocol}`);
  if (!url.username || url.password || !/\/\d+$/.test(url.pathname) || url.search || url.hash)
    throw new Error(
      `${name} is not a Sentry DSN (https://<public key>@<host>/<project id>): ${JSON.stringify(dsn)}`,
    );
  return [url.origin];
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
