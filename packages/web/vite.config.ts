import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";
import { securityHeaders } from "./security-headers.ts";

// Offline the browser talks to one origin: Vite serves the app and proxies /api to the API,
// as the CloudFront Router does on AWS, so cookies stay first-party in both.
const apiPort = process.env.PORT ?? "3000";
const proxy = {
  "/api": { target: `http://127.0.0.1:${apiPort}`, changeOrigin: false },
  // The offline object store (presigned uploads and downloads), served by the API process.
  "/storage": { target: `http://127.0.0.1:${apiPort}`, changeOrigin: false },
};

export default defineConfig({
  plugins: [react()],
  server: {
    port: Number(process.env.WEB_PORT ?? 5173),
    strictPort: true,
    proxy,
  },
  // `npm run preview`: the production build with the headers CloudFront sends (uploads go to the
  // same origin offline, so the CSP needs no other).
  preview: {
    port: Number(process.env.WEB_PORT ?? 4173),
    strictPort: true,
    proxy,
    headers: securityHeaders(),
  },
  build: { outDir: "dist", sourcemap: true },
});
