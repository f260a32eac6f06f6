import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { PNG } from "../../test/uploads";
import { inspect } from "./inspect";

/** The bytes as a stream of small chunks, so multi-byte characters straddle chunk edges. */
async function* chunks(bytes: Uint8Array, size = 3) {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}

describe("inspect: size, sha256 and type from the bytes", () => {
  it("a PNG: its size, its sha256, image/png", async () => {
    expect(await inspect(chunks(PNG), 1000)).toEqual({
      size: PNG.byteLength,
      sha256: createHash("sha256").update(PNG).digest("hex"),
      detectedType: "image/png",
    });
  });

  it.each<[string, Uint8Array, string | undefined]>([
    ["UTF-8 text split mid-character", Buffer.from("naïve ☕ text\n"), "text/plain"],
    ["HTML is text, never text/html", Buffer.from("<html><script>x</script></html>"), "text/plain"],
    ["invalid UTF-8", Buffer.from([0x61, 0xc3, 0x28]), undefined],
    ["a NUL byte", Buffer.from("a\u0000b"), undefined],
    ["an escape byte", Buffer.from("a\u001bb"), undefined],
    ["a truncated multi-byte character at the end", Buffer.from([0x61, 0xe2, 0x98]), undefined],
    ["unknown binary", Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]), undefined],
    ["a PDF", Buffer.from("%PDF-1.4\n%%EOF\n"), "application/pdf"],
  ])("%s → %s", async (_, bytes, type) => {
    expect((await inspect(chunks(bytes), 1000)).detectedType).toBe(type);
  });

  it("stops at the limit instead of reading an oversized object to the end", async () => {
    let read = 0;
    async function* endless() {
      for (;;) {
        read++;
        yield new Uint8Array(1024);
      }
    }
    const result = await inspect(endless(), 4096);
    expect(result.size).toBeGreaterThan(4096);
    expect(read).toBe(5);
  });
});
