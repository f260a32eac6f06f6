import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { traceAwsCalls } from "../observability/aws-spans";
import { attachmentDisposition, type ObjectStorage } from "./port";

/** S3 behind the storage port; the only file that knows the S3 SDK's object calls. */
export function createS3Storage(options: { bucket: string; client?: S3Client }): ObjectStorage {
  const { bucket } = options;
  const client = options.client ?? traceAwsCalls(new S3Client({}), "S3");
  return {
    async presignUpload({ key, contentType, size, expiresSeconds }) {
      // The presigners load on first use: the API's boot and the Lambdas never read them, and a
      // Lambda (which presigns nothing) leaves them out of its bundle (infra/bundling.ts).
      const { createPresignedPost } = await import("./s3-presign");
      return createPresignedPost(client, {
        Bucket: bucket,
        Key: key,
        Fields: { "Content-Type": contentType },
        // The library adds {bucket}, {key} and the signing fields; these pin type and size.
        Conditions: [
          ["eq", "$Content-Type", contentType],
          ["content-length-range", size, size],
        ],
        Expires: expiresSeconds,
      });
    },
    async presignDownload({ key, filename, contentType, expiresSeconds }) {
      const { getSignedUrl } = await import("./s3-presign");
      return getSignedUrl(
        client,
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ResponseContentDisposition: attachmentDisposition(filename),
          ResponseContentType: contentType,
        }),
        { expiresIn: expiresSeconds },
      );
    },
    async head(key) {
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { size: out.ContentLength ?? 0, contentType: out.ContentType };
      } catch (error) {
        if (error instanceof NotFound || error instanceof NoSuchKey) return undefined;
        throw error;
      }
    },
    async read(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return out.Body as AsyncIterable<Uint8Array> | undefined;
      } catch (error) {
        if (error instanceof NoSuchKey) return undefined;
        throw error;
      }
    },
    async put(key, body, contentType) {
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
      );
    },
    async copy(from, to) {
      await client.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: to,
          // Bucket and key, URL-encoded per segment as the API expects.
          CopySource: `${bucket}/${from.split("/").map(encodeURIComponent).join("/")}`,
        }),
      );
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
  };
}
