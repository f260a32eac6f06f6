import { describe, expect, it } from "vitest";
import { createID, idPattern } from "./id";

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
