import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { S3Client } from "@aws-sdk/client-s3";
import { AppError } from "../error";
import type { ObjectStorage } from "./port";
import { verifyPostPolicy } from "./post-policy";
import { createS3Storage } from "./s3";
import { verifySignedLink } from "./signed-link";

/**
 * Offline object storage under `.data/storage/`, with S3's browser flow and rules (ADR 012).
 * Policies and download links are signed by the S3 SDK itself (the same code as deployed, with a
 * local secret), and checked as S3 checks them (post-policy.ts, signed-link.ts), so what passes
 * offline passes on S3. s3rver, by contrast, ignores POST policies entirely. This file is the
 * store itself: objects and their types on disk, and the URLs they are reached at.
 */

export interface LocalStorageOptions {
  /** Where objects live (`.data/storage`). */
  dir: string;
  /** The URL browsers reach this store at (`http://localhost:5173/storage`, proxied by Vite). */
  publicURL: string;
  bucket: string;
}

export interface LocalStorage extends ObjectStorage {
  /** Checks a browser form upload against its signed policy and stores the file. */
  acceptUpload(bucket: string, form: FormData, now?: Date): Promise<{ key: string }>;
  /** Checks a presigned download URL and opens the object it names. */
  openDownload(
    url: URL,
    now?: Date,
  ): Promise<{ body: ReadableStream<Uint8Array>; headers: Record<string, string> }>;
}

const ACCESS_KEY = "slipway-local";
const REGION = "us-east-1";

/** A secret of the data directory: links signed before a restart still verify after it. */
async function localSecret(dir: string): Promise<string> {
  const file = path.join(dir, ".secret");
  try {
    return (await readFile(file, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(dir, { recursive: true });
  const secret = randomBytes(32).toString("hex");
  await writeFile(file, secret, { mode: 0o600, flag: "wx" }).catch(async (error) => {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  });
  return (await readFile(file, "utf8")).trim();
}

/** Object keys as S3 allows them, minus anything that could leave the directory. */
function safeKey(key: string): string {
  if (
    key.length === 0 ||
    key.length > 1024 ||
    key.startsWith("/") ||
    /[\\\0]/.test(key) ||
    key.split("/").some((part) => part === ".." || part === ".")
  ) {
    throw new AppError("bad_request", "Invalid object key", { key });
  }
  return key;
}

export async function createLocalStorage(options: LocalStorageOptions): Promise<LocalStorage> {
  const secret = await localSecret(options.dir);
  const client = new S3Client({
    region: REGION,
    endpoint: options.publicURL,
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: secret },
  });
  // Presigning is the S3 adapter's own code, pointed at this store.
  const signer = createS3Storage({ bucket: options.bucket, client });

  const objectPath = (key: string) =>
    path.join(options.dir, "objects", options.bucket, safeKey(key));
  const metaPath = (key: string) =>
    path.join(options.dir, "meta", options.bucket, `${safeKey(key)}.json`);

  /** Written to a temp file and renamed: a crash leaves the old object or the new one, never half. */
  async function writeAtomically(file: string, data: Uint8Array | string) {
    await mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    await writeFile(temp, data);
    await rename(temp, file);
  }

  async function put(key: string, body: Uint8Array, contentType: string) {
    await writeAtomically(objectPath(key), body);
    await writeAtomically(metaPath(key), JSON.stringify({ contentType }));
  }

  async function head(key: string) {
    try {
      const info = await stat(objectPath(key));
      const meta = await readFile(metaPath(key), "utf8")
        .then((text) => JSON.parse(text) as { contentType?: string })
        .catch(() => ({ contentType: undefined }));
      return { size: info.size, contentType: meta.contentType };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  return {
    ...signer,
    head,
    put,
    async read(key) {
      if (!(await head(key))) return undefined;
      return createReadStream(objectPath(key));
    },
    async copy(from, to) {
      const info = await head(from);
      if (!info) throw new Error(`copy: no object ${from}`);
      await put(
        to,
        await readFile(objectPath(from)),
        info.contentType ?? "application/octet-stream",
      );
    },
    async delete(key) {
      await rm(objectPath(key), { force: true });
      await rm(metaPath(key), { force: true });
    },

    async acceptUpload(bucket, form, now = new Date()) {
      if (bucket !== options.bucket) throw new AppError("not_found", "No such bucket");
      const upload = verifyPostPolicy(form, { accessKey: ACCESS_KEY, secret, bucket }, now);
      const key = safeKey(upload.key);
      await put(key, new Uint8Array(await upload.file.arrayBuffer()), upload.contentType);
      return { key };
    },

    async openDownload(url, now = new Date()) {
      const base = new URL(options.publicURL).pathname.replace(/\/$/, "");
      const prefix = `${base}/${options.bucket}/`;
      if (!url.pathname.startsWith(prefix)) throw new AppError("not_found", "No such bucket");
      let key: string;
      try {
        key = safeKey(decodeURIComponent(url.pathname.slice(prefix.length)));
      } catch (error) {
        if (error instanceof URIError) throw new AppError("bad_request", "Invalid object key");
        throw error;
      }
      const query = url.searchParams;
      await verifySignedLink(client, options.bucket, key, query, now);
      const info = await head(key);
      if (!info) throw new AppError("not_found", "No such object");
      const headers: Record<string, string> = {
        "content-type":
          query.get("response-content-type") ?? info.contentType ?? "application/octet-stream",
        "content-length": String(info.size),
        "x-content-type-options": "nosniff",
      };
      const disposition = query.get("response-content-disposition");
      if (disposition) headers["content-disposition"] = disposition;
      const stream = Readable.toWeb(createReadStream(objectPath(key)));
      return { body: stream as ReadableStream<Uint8Array>, headers };
    },
  };
}
