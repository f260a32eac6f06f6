import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";
import { errorReportingOrigins, securityHeaders } from "./security-headers.ts";

// Offline only on this machine: the dev and preview servers listen on loopback unless HOST says
// otherwise (the API follows the same variable, packages/core/src/config.ts).
const host = process.env.HOST || "127.0.0.1";
// The API listens on HOST too; a wildcard address is reached on loopback (as in scripts/dev.mjs).
const apiHost =
  host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;

// Offline the browser talks to one origin: Vite serves the app and proxies /api to the API,
// as the CloudFront Router does on AWS, so cookies stay first-party in both.
const apiPort = process.env.PORT ?? "3000";
// xfwd: the API sees who reached Vite (X-Forwarded-For), so its dev routes can refuse a LAN
// peer when HOST opens Vite beyond loopback; otherwise every proxied request looks local.
const proxy = {
  "/api": { target: `http://${apiHost}:${apiPort}`, changeOrigin: false, xfwd: true },
  // The offline object store (presigned uploads and downloads), served by the API process.
  "/storage": { target: `http://${apiHost}:${apiPort}`, changeOrigin: false },
};

// Error reporting from the browser (src/observability/): the site's public Sentry DSN and the
// release, fixed into the build (infra/web.ts passes both to the deployed site's build). No DSN,
// and the reporting code is dead code the build drops, and the CSP names no ingest.
const sentryDsn = process.env.SLIPWAY_WEB_SENTRY_DSN || "";
const ingest = errorReportingOrigins(sentryDsn);

export default defineConfig({
  plugins: [react()],
  define: {
    "import.meta.env.SLIPWAY_WEB_SENTRY_DSN": JSON.stringify(sentryDsn),
    "import.meta.env.SLIPWAY_RELEASE": JSON.stringify(process.env.SLIPWAY_RELEASE || "local"),
    "import.meta.env.SLIPWAY_STAGE": JSON.stringify(process.env.SLIPWAY_STAGE || "local"),
  },
  server: {
    host,
    port: Number(process.env.WEB_PORT ?? 5173),
    strictPort: true,
    proxy,
  },
  // `npm run preview`: the production build with the headers CloudFront sends (uploads go to the
  // same origin offline, so the CSP needs no other but the Sentry ingest, when there is a DSN).
  preview: {
    host,
    port: Number(process.env.WEB_PORT ?? 4173),
    strictPort: true,
    proxy,
    headers: securityHeaders(ingest),
  },
  // No source maps: the deployed site uploads everything in dist/, and maps would publish the
  // original source (comments included) to anyone.
  build: { outDir: "dist", sourcemap: false },
});
