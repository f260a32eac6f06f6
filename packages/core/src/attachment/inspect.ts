import { createHash } from "node:crypto";
import { TextDecoder } from "node:util";
import { fileTypeFromBuffer } from "file-type";

/** file-type reads at most this many leading bytes. */
const SNIFF_BYTES = 4100;

export interface Inspection {
  size: number;
  sha256: string;
  /** The type the bytes show; `text/plain` for valid UTF-8 text, undefined when unknown. */
  detectedType: string | undefined;
}

/**
 * Reads an object once, as a stream: its real size, its sha256, and its type from its bytes
 * (magic numbers by file-type; plain text is UTF-8 without control characters, which no
 * signature can show). Stops reading past `maxBytes` so an oversized object cannot exhaust memory.
 */
export async function inspect(
  body: AsyncIterable<Uint8Array>,
  maxBytes: number,
): Promise<Inspection> {
  const hash = createHash("sha256");
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let head = new Uint8Array(0);
  let size = 0;
  let text = true;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > maxBytes) return { size, sha256: "", detectedType: undefined };
    hash.update(chunk);
    if (head.byteLength < SNIFF_BYTES) {
      const next = new Uint8Array(Math.min(SNIFF_BYTES, head.byteLength + chunk.byteLength));
      next.set(head);
      next.set(chunk.subarray(0, next.byteLength - head.byteLength), head.byteLength);
      head = next;
    }
    if (text) text = isText(decoder, chunk, false);
  }
  if (text) text = isText(decoder, new Uint8Array(0), true);
  const sniffed = await fileTypeFromBuffer(head);
  return {
    size,
    sha256: hash.digest("hex"),
    detectedType: sniffed?.mime ?? (text && size > 0 ? "text/plain" : undefined),
  };
}

/**
 * Valid UTF-8 so far, and no control byte other than tab, line feed, form feed and carriage
 * return. Control bytes are ASCII, which never occurs inside a multi-byte UTF-8 sequence.
 */
function isText(decoder: TextDecoder, chunk: Uint8Array, last: boolean): boolean {
  // An indexed loop: for-of over a Uint8Array goes through the iterator, ~10x slower on big files.
  for (let i = 0; i < chunk.length; i++) {
    const byte = chunk[i] as number;
    if (
      (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d) ||
      byte === 0x7f
    ) {
      return false;
    }
  }
  try {
    decoder.decode(chunk, { stream: !last });
    return true;
  } catch {
    return false;
  }
}
