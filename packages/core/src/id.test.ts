import { describe, expect, it } from "vitest";
import { createID, idPattern, pooledRandom } from "./id";

describe("createID", () => {
  it("sorts in the order IDs were made, even many within one millisecond", () => {
    // 2,000 IDs take well under a millisecond each: plain ULIDs made in the same millisecond
    // sort at random, which put notes made back to back out of order in the list.
    const ids = Array.from({ length: 2000 }, () => createID("note"));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toMatch(idPattern("note"));
    expect(ids[0]).toMatch(/^not_[0-9A-HJKMNP-TV-Z]{26}$/);
  });
});

describe("the randomness of IDs", () => {
  it("draws fractions in [0, 1) whose ulid character (floor(x * 32)) is uniform, across many refills of its pool", () => {
    const draw = pooledRandom();
    const buckets = new Array<number>(32).fill(0);
    const draws = 32 * 2000; // 64,000: the 4 KB pool refills 15 times
    let outside = 0;
    for (let i = 0; i < draws; i++) {
      const x = draw();
      if (!(x >= 0 && x < 1)) outside++;
      buckets[Math.floor(x * 32)] = (buckets[Math.floor(x * 32)] ?? 0) + 1;
    }
    expect(outside).toBe(0);
    // Chi-square with 31 degrees of freedom: above 80 happens by chance about once in a million.
    const expected = draws / 32;
    const chiSquare = buckets.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    expect(chiSquare).toBeLessThan(80);
  });
});
