import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Offline the browser talks to one origin: Vite serves the app and proxies /api to the API,
// as the CloudFront Router does on AWS, so cookies stay first-party in both.
const apiPort = process.env.PORT ?? "3000";

export default defineConfig({
  plugins: [react()],
  server: {
    port: Number(process.env.WEB_PORT ?? 5173),
    strictPort: true,
    // /storage is the offline object store (presigned uploads and downloads), served by the API process.
    proxy: {
      "/api": { target: `http://127.0.0.1:${apiPort}`, changeOrigin: false },
      "/storage": { target: `http://127.0.0.1:${apiPort}`, changeOrigin: false },
    },
  },
  build: { outDir: "dist", sourcemap: true },
});
