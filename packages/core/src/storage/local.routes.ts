import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { config } from "../config";
import { AppError } from "../error";
import type { AppEnv } from "../http/app";
import { noRoute } from "../http/errors";
import type { LocalStorage } from "./local";
import { storage } from "./storage";

/**
 * The offline object store's HTTP face, at `/storage` beside the API (Vite proxies it, as it does
 * `/api`). Browsers POST presigned forms here and follow presigned download links, exactly as
 * they would with S3. Not under `/api`: like S3 it takes multipart forms, and the signed policy,
 * not a cookie or an Origin, is what authorizes an upload. Deployed, it answers 404.
 * Request ids, request logs and the error contract come from the site it is mounted in
 * (`createSite()`), as they do for the API.
 */
async function localStore(c: Parameters<typeof noRoute>[0]): Promise<LocalStorage> {
  if (config().storage.kind !== "local") throw noRoute(c);
  return (await storage()) as LocalStorage;
}

// Room for the form's fields around the largest file a policy can allow.
const FORM_OVERHEAD_BYTES = 64 * 1024;

export const LocalStorageRoutes = new Hono<AppEnv>()
  .post(
    "/:bucket",
    async (c, next) =>
      bodyLimit({
        maxSize: config().attachments.maxBytes + FORM_OVERHEAD_BYTES,
        onError: () => {
          throw new AppError("payload_too_large", "The upload is larger than any policy allows");
        },
      })(c, next),
    async (c) => {
      const store = await localStore(c);
      const type = c.req.header("content-type") ?? "";
      if (!type.startsWith("multipart/form-data")) {
        throw new AppError("unsupported_media_type", "Uploads are multipart/form-data forms");
      }
      const form = await c.req.formData().catch(() => {
        throw new AppError("bad_request", "The upload is not a valid multipart form");
      });
      await store.acceptUpload(c.req.param("bucket"), form);
      // S3's default answer to a form upload.
      return c.body(null, 204);
    },
  )
  .get("/:bucket/*", async (c) => {
    const store = await localStore(c);
    const { body, headers } = await store.openDownload(new URL(c.req.url));
    return new Response(body, { status: 200, headers });
  });
