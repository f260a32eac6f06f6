import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { withLogContext } from "../log";
import { traceAwsCalls } from "../observability/aws-spans";
import type { Trace } from "../observability/trace";
import type { ObjectStorage } from "./port";
import { createS3Storage } from "./s3";

// s3rver ships no types; this is the slice of its API the test uses.
const S3rver = createRequire(import.meta.url)("s3rver") as new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => { run(): Promise<AddressInfo>; close(): Promise<void> };

// A real S3-protocol server on loopback. It does not verify SigV4 signatures or POST policies
// (post-policy.ts and signed-link.ts check those offline), but it does refuse presigned GETs
// past their expiry.
const BUCKET = "slipway-test";
let server: InstanceType<typeof S3rver>;
let directory: string;
let store: ObjectStorage;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "slipway-s3rver-"));
  server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET }],
  });
  const { port } = await server.run();
  const client = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    // s3rver predates the SDK's default checksums: a streamed body is sent aws-chunked and
    // s3rver stores the chunk framing as the object. Uint8Array bodies survive; keep it off anyway.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  store = createS3Storage({ bucket: BUCKET, client: traceAwsCalls(client, "S3") });
});

afterAll(async () => {
  await server?.close();
  if (directory) await rm(directory, { recursive: true, force: true });
});

const newKey = () => `test/${randomUUID()}.bin`;
const bytesOf = (text: string) => new TextEncoder().encode(text);

async function collect(body: AsyncIterable<Uint8Array>) {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe("S3 storage against s3rver", () => {
  it("put stores bytes that head reports (size, type) and read streams back unchanged", async () => {
    const key = newKey();
    const body = bytesOf("hello, slipway ✓");
    await store.put(key, body, "text/plain");
    expect(await store.head(key)).toEqual({ size: body.byteLength, contentType: "text/plain" });
    const stream = await store.read(key);
    expect(stream).toBeDefined();
    expect(await collect(stream as AsyncIterable<Uint8Array>)).toEqual(Buffer.from(body));
  });

  it("copy duplicates bytes and type server-side, to a key with a nested path", async () => {
    const from = newKey();
    const to = `copied/${randomUUID()}/file ü.bin`;
    const body = bytesOf("copied bytes");
    await store.put(from, body, "image/png");
    await store.copy(from, to);
    expect(await store.head(to)).toEqual({ size: body.byteLength, contentType: "image/png" });
    expect(await collect((await store.read(to)) as AsyncIterable<Uint8Array>)).toEqual(
      Buffer.from(body),
    );
  });

  it("head and read of a missing key return undefined, not an error", async () => {
    const key = newKey();
    expect(await store.head(key)).toBeUndefined();
    expect(await store.read(key)).toBeUndefined();
  });

  it("delete removes the object, and deleting a missing key succeeds", async () => {
    const key = newKey();
    await store.put(key, bytesOf("gone soon"), "text/plain");
    await store.delete(key);
    expect(await store.head(key)).toBeUndefined();
    await expect(store.delete(key)).resolves.toBeUndefined();
    await expect(store.delete(newKey())).resolves.toBeUndefined();
  });

  it("presignUpload's form, POSTed as a browser would, stores the file at the key with the type", async () => {
    const key = newKey();
    const body = bytesOf("%PDF-1.7 not really");
    const { url, fields } = await store.presignUpload({
      key,
      contentType: "application/pdf",
      size: body.byteLength,
      expiresSeconds: 300,
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    // The part's own type is not what S3 stores: the Content-Type field (pinned by the policy) is.
    form.append("file", new Blob([body], { type: "application/octet-stream" }), "upload.pdf");
    const response = await fetch(url, { method: "POST", body: form });
    expect(response.status).toBe(204);
    expect(await store.head(key)).toEqual({
      size: body.byteLength,
      contentType: "application/pdf",
    });
    expect(await collect((await store.read(key)) as AsyncIterable<Uint8Array>)).toEqual(
      Buffer.from(body),
    );
  });

  it("presignUpload's policy pins the exact key, the type, the exact size and the expiry", async () => {
    const key = newKey();
    const before = Date.now();
    const { fields } = await store.presignUpload({
      key,
      contentType: "image/png",
      size: 1234,
      expiresSeconds: 300,
    });
    // s3rver ignores the policy, so read what S3 would enforce.
    const policy = JSON.parse(Buffer.from(fields.Policy ?? "", "base64").toString("utf8")) as {
      expiration: string;
      conditions: unknown[];
    };
    expect(fields.key).toBe(key);
    expect(fields["Content-Type"]).toBe("image/png");
    expect(policy.conditions).toContainEqual({ key });
    expect(policy.conditions).not.toContainEqual(expect.arrayContaining(["starts-with", "$key"]));
    expect(policy.conditions).toContainEqual(["eq", "$Content-Type", "image/png"]);
    expect(policy.conditions).toContainEqual(["content-length-range", 1234, 1234]);
    expect(policy.conditions).toContainEqual({ bucket: BUCKET });
    const expiresAt = Date.parse(policy.expiration);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 300_000 - 1_000); // ISO seconds truncate
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 300_000);
  });

  it("presignDownload's URL serves the bytes as an attachment with the given type", async () => {
    const key = newKey();
    const body = bytesOf("report contents");
    await store.put(key, body, "application/octet-stream");
    const url = await store.presignDownload({
      key,
      filename: 'résumé "2024".pdf',
      contentType: "application/pdf",
      expiresSeconds: 60,
    });
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/pdf");
    expect(response.headers.get("content-disposition")).toBe(
      `attachment; filename="r_sum_ _2024_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%222024%22.pdf`,
    );
    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from(body));
  });

  it("a presignDownload URL past its expiresSeconds is refused with 403", async () => {
    const key = newKey();
    await store.put(key, bytesOf("stale"), "text/plain");
    // s3rver runs in this process, so fake Date only while signing: the URL is signed two
    // minutes ago for 60 s, and the server then checks it against the real clock.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() - 120_000 });
    let url: string;
    try {
      url = await store.presignDownload({
        key,
        filename: "stale.txt",
        contentType: "text/plain",
        expiresSeconds: 60,
      });
    } finally {
      vi.useRealTimers();
    }
    expect(new URL(url).searchParams.get("X-Amz-Expires")).toBe("60");
    const response = await fetch(url);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("Request has expired");
  });
});

describe("on AWS", () => {
  it("upload forms post to the bucket's regional origin, the one the site's CSP allows (infra/web.ts)", async () => {
    // The client as deployed (no endpoint, region from the environment); signing needs no network.
    vi.stubEnv("AWS_REGION", "eu-west-1");
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "secret");
    try {
      const form = await createS3Storage({
        bucket: "slipway-production-uploads-abc",
      }).presignUpload({
        key: "attachments/incoming/x",
        contentType: "image/png",
        size: 1,
        expiresSeconds: 60,
      });
      expect(new URL(form.url).origin).toBe(
        "https://slipway-production-uploads-abc.s3.eu-west-1.amazonaws.com",
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("S3 calls in a recorded trace", () => {
  it("each call is a span named by its command; a presigned link, which sends nothing, is none", async () => {
    const trace: Trace = {
      traceId: "a".repeat(32),
      spanId: "b".repeat(16),
      sampled: true,
      start: Date.now(),
      spans: [],
    };
    const key = newKey();
    await withLogContext(
      {},
      async () => {
        await store.put(key, bytesOf("traced"), "text/plain");
        await store.head(key);
        await store.presignDownload({
          key,
          filename: "x.txt",
          contentType: "text/plain",
          expiresSeconds: 60,
        });
      },
      trace,
    );
    expect(trace.spans?.map((span) => [span.op, span.description, span.ok])).toEqual([
      ["aws.s3", "S3.PutObject", true],
      ["aws.s3", "S3.HeadObject", true],
    ]);
    // Nothing recorded outside a trace.
    await store.head(key);
    expect(trace.spans).toHaveLength(2);
  });
});
