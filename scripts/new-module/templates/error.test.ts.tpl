import { describe, expect, it } from "vitest";
import { as, client, rowCounts, signupUser } from "../../test/app";
import { isolated } from "../../test/database";
import { issuesOf } from "../../test/http";
import { rollback } from "../db/transaction";

// Input that is invalid on purpose goes through `as`: the typed client would not compile it.
describe("__pluralWords__: bad input", () => {
  it.each([
    ["title missing", {}, "title"],
    ["title a number", { title: 1 }, "title"],
    ["title only spaces", { title: "   " }, "title"],
    ["title too long", { title: "t".repeat(201) }, "title"],
    ["an extra field", { title: "x", userId: "usr_someone_else" }, ""],
  ])("create, %s: 400 naming the field, nothing written", async (_, body, field) =>
    isolated(async () => {
      const me = as((await signupUser()).cookie);
      const before = await rowCounts();
      const response = await me.send("POST", "/api/__plural__", body);
      expect(response.status).toBe(400);
      expect(await issuesOf(response)).toContain(field);
      expect(await rowCounts()).toEqual(before);
    }),
  );

  it.each(["limit=0", "limit=101", "limit=abc", "cursor=not-an-id", "extra=1"])(
    "list with %s: 400",
    async (query) =>
      isolated(async () => {
        const me = as((await signupUser()).cookie);
        expect((await me.get(`/api/__plural__?${query}`)).status).toBe(400);
      }),
  );

  it("an id that does not exist: 404 for read and delete", async () =>
    rollback(async () => {
      const one = client((await signupUser()).cookie).api__pluralAccess__[":id"];
      const param = { id: "__prefix___01ARZ3NDEKTSV4RRFFQ69G5FAV" };
      expect((await one.$get({ param })).status).toBe(404);
      expect((await one.$delete({ param })).status).toBe(404);
      expect((await one.$get({ param: { id: "anything-at-all" } })).status).toBe(404);
    }));
});
