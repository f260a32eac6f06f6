import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { AppError } from "../error";
import { createS3Storage } from "./s3";
import type { ObjectStorage } from "./storage";

/**
 * Offline object storage under `.data/storage/`, with S3's browser flow and rules (ADR 012).
 * Policies and download links are signed by the S3 SDK itself (the same code as deployed, with a
 * local secret), and this store checks them as S3 does: the SigV4 signature, the expiry, and every
 * policy condition (exact key, content type, content-length-range), so what passes offline
 * passes on S3. s3rver, by contrast, ignores POST policies entirely.
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

const denied = (message: string, details?: unknown) => new AppError("forbidden", message, details);

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

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

type Condition = Record<string, unknown> | unknown[];

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

  function checkSignature(fields: Map<string, string>) {
    const required = ["policy", "x-amz-signature", "x-amz-credential", "x-amz-algorithm", "key"];
    const missing = required.filter((name) => !fields.get(name));
    if (missing.length > 0) throw denied("The upload form is missing fields", { missing });
    if (fields.get("x-amz-algorithm") !== "AWS4-HMAC-SHA256") {
      throw denied("Unsupported signing algorithm");
    }
    const [accessKey, date, region, service, terminal] = (
      fields.get("x-amz-credential") ?? ""
    ).split("/");
    if (accessKey !== ACCESS_KEY || !date || !region || service !== "s3" || !terminal) {
      throw denied("The credential is not this store's");
    }
    // SigV4: the policy (base64, as sent) signed with the key derived for its date and region.
    const signingKey = [date, region, service, terminal].reduce<Buffer | string>(
      (key, part) => hmac(key, part),
      `AWS4${secret}`,
    );
    const expected = hmac(signingKey, fields.get("policy") ?? "").toString("hex");
    if (!sameSecret(expected, fields.get("x-amz-signature") ?? "")) {
      throw denied("The policy signature does not match");
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
      // S3 reads fields up to the file and ignores the rest; names are case-insensitive.
      const fields = new Map<string, string>();
      let file: File | undefined;
      for (const [name, value] of form.entries()) {
        if (name === "file" && typeof value !== "string") {
          file = value;
          break;
        }
        if (typeof value === "string") fields.set(name.toLowerCase(), value);
      }
      if (!file) throw new AppError("bad_request", "The form must end with a `file` field");
      checkSignature(fields);

      let policy: { expiration?: unknown; conditions?: unknown };
      try {
        policy = JSON.parse(Buffer.from(fields.get("policy") ?? "", "base64").toString("utf8"));
      } catch {
        throw new AppError("bad_request", "The policy is not valid base64 JSON");
      }
      const expiration = new Date(String(policy.expiration));
      if (Number.isNaN(expiration.getTime()) || !Array.isArray(policy.conditions)) {
        throw new AppError("bad_request", "The policy needs an expiration and conditions");
      }
      if (expiration <= now) {
        throw denied("The upload policy has expired", { expiration: policy.expiration });
      }

      const covered = new Set(["policy", "x-amz-signature", "file"]);
      const value = (name: string) => (name === "bucket" ? bucket : fields.get(name));
      // `{field: value}` is S3's shorthand for ["eq", "$field", value].
      const conditions = (policy.conditions as Condition[]).flatMap((condition) =>
        Array.isArray(condition)
          ? [condition]
          : Object.entries(condition).map(([name, expected]) => ["eq", `$${name}`, expected]),
      );
      for (const condition of conditions) {
        const [operator, target, expected] = condition;
        if (operator === "content-length-range") {
          const [min, max] = [Number(target), Number(expected)];
          if (file.size > max) {
            throw new AppError("payload_too_large", `The file is larger than ${max} bytes`, {
              size: file.size,
              limitBytes: max,
            });
          }
          if (file.size < min) {
            throw denied(`The file is smaller than ${min} bytes`, { size: file.size, min });
          }
          continue;
        }
        const field = String(target).replace(/^\$/, "").toLowerCase();
        covered.add(field);
        const actual = value(field) ?? "";
        const ok =
          operator === "eq"
            ? actual === expected
            : operator === "starts-with" && actual.startsWith(String(expected));
        if (!ok) {
          throw denied(`Invalid according to policy: ${field} ${operator} ${expected}`, {
            condition,
          });
        }
      }
      const extra = [...fields.keys()].filter(
        (name) => !covered.has(name) && !name.startsWith("x-ignore-"),
      );
      if (extra.length > 0) {
        throw denied("Invalid according to policy: extra input fields", { fields: extra });
      }

      const key = safeKey(fields.get("key") ?? "");
      await put(
        key,
        new Uint8Array(await file.arrayBuffer()),
        fields.get("content-type") ?? "application/octet-stream",
      );
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
      const signedAt = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(
        query.get("X-Amz-Date") ?? "",
      );
      const expiresIn = Number(query.get("X-Amz-Expires"));
      if (!signedAt || !Number.isInteger(expiresIn) || !query.get("X-Amz-Signature")) {
        throw denied("The download link is not signed");
      }
      const [, year, month, day, hour, minute, second] = signedAt.map(Number);
      const signingDate = new Date(
        Date.UTC(year ?? 0, (month ?? 1) - 1, day, hour, minute, second),
      );
      // Sign the same request again with the SDK; any changed parameter changes the signature.
      const again = new URL(
        await getSignedUrl(
          client,
          new GetObjectCommand({
            Bucket: options.bucket,
            Key: key,
            ResponseContentDisposition: query.get("response-content-disposition") ?? undefined,
            ResponseContentType: query.get("response-content-type") ?? undefined,
          }),
          { expiresIn, signingDate },
        ),
      );
      // The same parameters, and the same signature compared in constant time.
      const unsigned = (params: URLSearchParams) =>
        [...params]
          .filter(([name]) => name !== "X-Amz-Signature")
          .sort()
          .join("&");
      if (
        unsigned(again.searchParams) !== unsigned(query) ||
        !sameSecret(
          again.searchParams.get("X-Amz-Signature") ?? "",
          query.get("X-Amz-Signature") ?? "",
        )
      ) {
        throw denied("The download link's signature does not match");
      }
      if (signingDate.getTime() + expiresIn * 1000 < now.getTime()) {
        throw denied("The download link has expired");
      }
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
