import {
  contentSecurityPolicy,
  errorReportingOrigins,
  HSTS_MAX_AGE_SECONDS,
  PERMISSIONS_POLICY,
  REFERRER_POLICY,
} from "../packages/web/security-headers";
import { originRequestPolicy, originSecretInjection } from "./origin";
import { variables } from "./stage";
import { uploads } from "./storage";

/**
 * The browser's security headers on every response: the CSP of packages/web/security-headers.ts
 * (the one `npm run preview` and the e2e test run under) with the bucket's origin added to
 * `connect-src` for uploads (and Sentry's ingest, when the site reports errors), HSTS, nosniff,
 * no framing, a referrer policy, no device features.
 * CloudFront's values replace the API's own (Hono secureHeaders) for the headers it sets, so these
 * read the same on every path; the API's extra ones (COOP, CORP…) pass through.
 */
const uploadOrigin = $interpolate`https://${uploads.nodes.bucket.bucketRegionalDomainName}`;
/** With SLIPWAY_WEB_SENTRY_DSN, the one origin the browser reports its errors to (ADR 031). */
const ingestOrigins = errorReportingOrigins(variables.webSentryDsn);
if (ingestOrigins.some((origin) => !origin.startsWith("https://")))
  throw new Error("SLIPWAY_WEB_SENTRY_DSN must be https on a deployed stage");
export const siteHeaders = new aws.cloudfront.ResponseHeadersPolicy("SiteHeaders", {
  comment: "Slipway: CSP, HSTS and the other security headers",
  securityHeadersConfig: {
    contentSecurityPolicy: {
      contentSecurityPolicy: uploadOrigin.apply((origin) =>
        contentSecurityPolicy([origin, ...ingestOrigins]),
      ),
      override: true,
    },
    strictTransportSecurity: {
      accessControlMaxAgeSec: HSTS_MAX_AGE_SECONDS,
      // Not the domain's other hosts: this app cannot know they all serve HTTPS (nor preload).
      includeSubdomains: false,
      preload: false,
      override: true,
    },
    contentTypeOptions: { override: true },
    frameOptions: { frameOption: "DENY", override: true },
    referrerPolicy: { referrerPolicy: REFERRER_POLICY, override: true },
  },
  customHeadersConfig: {
    items: [{ header: "Permissions-Policy", value: PERMISSIONS_POLICY, override: true }],
  },
});

/**
 * One CloudFront distribution in front of everything: the static site at `/` and the API at
 * `/api` (added in api.ts). The browser sees one origin, so session cookies stay first-party.
 * Its viewer-request function adds the origin secret on `/api` (origin.ts): SST's URL routes
 * take no origin headers, and a custom header on the distribution's origin would reach every
 * route's origin, not only the API.
 */
export const router = new sst.aws.Router("Web", {
  domain: variables.domain ? { name: variables.domain } : undefined,
  edge: { viewerRequest: { injection: originSecretInjection } },
  transform: {
    // Routes are chosen by the Router's edge function, so this one behaviour serves every path.
    cdn: (args) => {
      // SST passes this behaviour as a plain object (its fields may be Outputs); the graph test
      // checks the policy really ends up on the distribution.
      const behavior =
        args.defaultCacheBehavior as aws.types.input.cloudfront.DistributionDefaultCacheBehavior;
      args.defaultCacheBehavior = {
        ...behavior,
        responseHeadersPolicyId: siteHeaders.id,
        originRequestPolicyId: originRequestPolicy.id,
      };
    },
  },
});

export const site = new sst.aws.StaticSite("Site", {
  path: "packages/web",
  build: { command: "npm run build", output: "dist" },
  router: { instance: router },
  dev: { command: "npm run dev" },
  // Read by vite.config.ts into the build: the reporting code and its CSP origin exist only with
  // a DSN, and the release and stage tag its reports as the API's are tagged. Without one the
  // build is what it was (no release in it, so no new files on a deploy that changed nothing).
  environment: variables.webSentryDsn
    ? {
        SLIPWAY_WEB_SENTRY_DSN: variables.webSentryDsn,
        SLIPWAY_RELEASE: variables.release,
        SLIPWAY_STAGE: $app.stage,
      }
    : undefined,
});

/** Where the browser loads the app from: the custom domain, else the CloudFront URL. */
export const siteOrigin = variables.domain ? `https://${variables.domain}` : router.url;

/**
 * The other half of the CSP's `connect-src`: the bucket accepts the browser's upload POSTs (and
 * answers its preflights) from the site's origin only. Named as the Bucket component's own rule
 * was, so a stage deployed before keeps its rule in place instead of replacing it.
 */
export const uploadsCors = new aws.s3.BucketCorsConfiguration(
  "UploadsCors",
  {
    bucket: uploads.name,
    corsRules: [
      {
        allowedOrigins: [siteOrigin],
        allowedMethods: ["POST", "GET", "HEAD"],
        allowedHeaders: ["*"],
        exposeHeaders: ["ETag"],
        maxAgeSeconds: 3600,
      },
    ],
  },
  { aliases: [{ name: "UploadsCors", parent: uploads }] },
);
