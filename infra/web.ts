import { variables } from "./stage";

/**
 * One CloudFront distribution in front of everything: the static site at `/` and the API at
 * `/api` (added in api.ts). The browser sees one origin, so session cookies stay first-party.
 */
export const router = new sst.aws.Router("Web", {
  domain: variables.domain ? { name: variables.domain } : undefined,
});

export const site = new sst.aws.StaticSite("Site", {
  path: "packages/web",
  build: { command: "npm run build", output: "dist" },
  router: { instance: router },
  dev: { command: "npm run dev" },
});

/** Where the browser loads the app from: the custom domain, else the CloudFront URL. */
export const siteOrigin = variables.domain ? `https://${variables.domain}` : router.url;
