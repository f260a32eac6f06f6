import type { AppType } from "@slipway/core/api";
import { hc } from "hono/client";

/** The typed client: same origin everywhere (Vite proxy offline, CloudFront Router on AWS). */
export const api = hc<AppType>(import.meta.env.VITE_API_URL ?? "/");
