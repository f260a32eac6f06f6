import { createHash, randomBytes } from "node:crypto";
import { inspect } from "../packages/core/src/attachment/inspect";
import { PNG } from "../packages/core/test/fixtures/png";

/**
 * `npm run bench -- attachment-check`: what checking an upload costs the worker, per 10 MB file,
 * against the least any check must do (read the stream and sha256 it), side by side:
 *   baseline  sha256 over the stream
 *   inspect   the attachments.process check: sha256, size, file-type sniffing, and for text the
 *             streaming strict UTF-8 decode and control-byte scan
 * For a PNG-typed binary file and for a text file (the worst case: every byte is looked at twice).
 * The stream yields 64 KB chunks, as a file or an S3 response body does. Median of RUNS (9).
 */

const runs = Number(process.env.RUNS ?? 9);
const SIZE = 10 * 1024 * 1024;
const CHUNK = 64 * 1024;

// A real 1×1 PNG, then filler: file-type walks the PNG's chunks, the rest is only hashed.
const png = Buffer.concat([PNG, randomBytes(SIZE - PNG.byteLength)]);
const line = Buffer.from("Grüße aus der Werkstatt, naïve café ☕\n");
const text = Buffer.concat(Array.from({ length: Math.floor(SIZE / line.byteLength) }, () => line));

async function* chunks(bytes: Buffer) {
  for (let i = 0; i < bytes.byteLength; i += CHUNK) yield bytes.subarray(i, i + CHUNK);
}

async function baseline(bytes: Buffer) {
  const hash = createHash("sha256");
  for await (const chunk of chunks(bytes)) hash.update(chunk);
  return hash.digest("hex");
}

async function median(fn: () => Promise<unknown>) {
  await fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

const rows: string[] = [];
for (const [name, bytes, type] of [
  ["PNG, 10 MB", png, "image/png"],
  ["text, 10 MB", text, "text/plain"],
] as const) {
  const found = await inspect(chunks(bytes), bytes.byteLength);
  if (found.detectedType !== type || found.sha256 !== (await baseline(bytes))) {
    throw new Error(`inspect got ${found.detectedType} for ${name}`);
  }
  const base = await median(() => baseline(bytes));
  const check = await median(() => inspect(chunks(bytes), bytes.byteLength));
  const mbps = (ms: number) => ((bytes.byteLength / 1024 / 1024 / ms) * 1000).toFixed(0);
  rows.push(
    `| ${name} | ${base.toFixed(1)} ms (${mbps(base)} MB/s) | ${check.toFixed(1)} ms (${mbps(check)} MB/s) | ${(check / base).toFixed(2)}x |`,
  );
}

process.stdout.write(
  `attachment check, median of ${runs} (node ${process.version}):\n\n` +
    "| file | baseline: sha256 only | inspect | ratio |\n|---|---:|---:|---:|\n" +
    `${rows.join("\n")}\n`,
);
