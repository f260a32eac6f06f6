/**
 * The object-storage port: what the rest of the app may ask of storage, and all the adapters
 * implement. It imports no adapter, so adapters can depend on it without a cycle; `storage.ts`
 * picks the adapter. Files never go through the API: the browser POSTs to a presigned policy and
 * downloads from a presigned GET; the server only reads, checks and deletes. Two adapters: S3
 * (deployed; tested against s3rver) and a local store under `.data/` that enforces the same
 * policies offline (./local.ts, ADR 012).
 */
export interface ObjectStorage {
  /** A browser form upload: POST `fields` and then `file` to `url`. Pins key, type and exact size. */
  presignUpload(input: {
    key: string;
    contentType: string;
    size: number;
    expiresSeconds: number;
  }): Promise<{ url: string; fields: Record<string, string> }>;
  /** A download link that saves the file (`Content-Disposition: attachment`), never renders it. */
  presignDownload(input: {
    key: string;
    filename: string;
    contentType: string;
    expiresSeconds: number;
  }): Promise<string>;
  head(key: string): Promise<{ size: number; contentType?: string } | undefined>;
  /** The object's bytes as a stream, or undefined when there is no such object. */
  read(key: string): Promise<AsyncIterable<Uint8Array> | undefined>;
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /** Server-side copy, type included; the source must exist. */
  copy(from: string, to: string): Promise<void>;
  /** Deleting a missing object succeeds, as on S3. */
  delete(key: string): Promise<void>;
}

/** `Content-Disposition: attachment` with an ASCII fallback and the UTF-8 name (RFC 6266). */
export function attachmentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  // RFC 5987 leaves ' ( ) * out of attr-char; encodeURIComponent does not escape them.
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
