import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { AppError } from "../error";
import { sameSignature } from "./signature";

/**
 * S3's presigned-GET check, done offline (ADR 012). Rather than reimplement SigV4 for queries, the
 * link is signed again by the SDK's `getSignedUrl` with the link's own date and expiry: any
 * changed or dropped parameter (the disposition, the type, the key, the expiry) changes the
 * signature, so a link cannot be edited to render inline or live longer.
 */

const denied = (message: string) => new AppError("forbidden", message);

/** Throws unless `query` is a live link for `key` signed by `client`'s credentials. */
export async function verifySignedLink(
  client: S3Client,
  bucket: string,
  key: string,
  query: URLSearchParams,
  now: Date,
): Promise<void> {
  const signedAt = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(
    query.get("X-Amz-Date") ?? "",
  );
  const expiresIn = Number(query.get("X-Amz-Expires"));
  if (!signedAt || !Number.isInteger(expiresIn) || !query.get("X-Amz-Signature")) {
    throw denied("The download link is not signed");
  }
  const [, year, month, day, hour, minute, second] = signedAt.map(Number);
  const signingDate = new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day, hour, minute, second));
  const again = new URL(
    await getSignedUrl(
      client,
      new GetObjectCommand({
        Bucket: bucket,
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
    !sameSignature(
      again.searchParams.get("X-Amz-Signature") ?? "",
      query.get("X-Amz-Signature") ?? "",
    )
  ) {
    throw denied("The download link's signature does not match");
  }
  if (signingDate.getTime() + expiresIn * 1000 < now.getTime()) {
    throw denied("The download link has expired");
  }
}
