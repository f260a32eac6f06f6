import { describe, expect, it } from "vitest";
import { client, rowCounts, signupUser } from "../../test/app";
import { rollback } from "../db/transaction";

describe("__pluralWords__: security", () => {
  it("every route needs a session: 401, nothing written", async () =>
    rollback(async () => {
      const before = await rowCounts();
      const api = client().api__pluralAccess__;
      const param = { id: "__prefix___01ARZ3NDEKTSV4RRFFQ69G5FAV" };
      const responses = await Promise.all([
        api.$get({ query: {} }),
        api.$post({ json: { title: "x" } }),
        api[":id"].$get({ param }),
        api[":id"].$delete({ param }),
      ]);
      expect(responses.map((r) => r.status)).toEqual([401, 401, 401, 401]);
      expect(await rowCounts()).toEqual(before);
    }));

  it("another user's __words__ is a 404 for read and delete, and stays", async () =>
    rollback(async () => {
      const owner = client((await signupUser()).cookie).api__pluralAccess__;
      const other = client((await signupUser()).cookie).api__pluralAccess__;
      const { __camel__ } = await (await owner.$post({ json: { title: "private" } })).json();
      const param = { id: __camel__.id };
      expect((await other[":id"].$get({ param })).status).toBe(404);
      expect((await other[":id"].$delete({ param })).status).toBe(404);
      expect((await (await other.$get({ query: {} })).json()).items).toEqual([]);
      expect((await owner[":id"].$get({ param })).status).toBe(200);
    }));

  it("CSRF: a write from a foreign origin is 403 and changes nothing", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const before = await rowCounts();
      const response = await client(cookie).api__pluralAccess__.$post(
        { json: { title: "x" } },
        { headers: { origin: "https://evil.example" } },
      );
      expect(response.status).toBe(403);
      expect(await rowCounts()).toEqual(before);
    }));
});
