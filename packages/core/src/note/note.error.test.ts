import { describe, expect, it } from "vitest";
import { as, client, rowCounts, signupUser } from "../../test/app";
import { isolated } from "../../test/database";
import { issuesOf } from "../../test/http";
import { rollback } from "../db/transaction";

const createCases: [string, unknown, string][] = [
  ["title missing", { body: "x" }, "title"],
  ["title a number", { title: 1 }, "title"],
  ["title null", { title: null }, "title"],
  ["title empty", { title: "" }, "title"],
  ["title only spaces", { title: "   " }, "title"],
  ["title too long", { title: "t".repeat(201) }, "title"],
  ["title of 201 emoji", { title: "🦆".repeat(201) }, "title"],
  ["body a number", { title: "x", body: 5 }, "body"],
  ["body an object", { title: "x", body: { text: "x" } }, "body"],
  ["body too long", { title: "x", body: "b".repeat(100_001) }, "body"],
  ["an extra field", { title: "x", userId: "usr_someone_else" }, ""],
  ["not an object", ["title"], ""],
];

// Input that is invalid on purpose goes through `as`: the typed client would not compile it.
describe("notes: bad input", () => {
  it.each(createCases)(
    "create, %s: 400 naming the field, nothing written",
    async (_, body, field) =>
      isolated(async () => {
        const me = as((await signupUser()).cookie);
        const before = await rowCounts();
        const response = await me.send("POST", "/api/notes", body);
        expect(response.status).toBe(400);
        expect(await issuesOf(response)).toContain(field);
        expect(await rowCounts()).toEqual(before);
      }),
  );

  it.each([
    ["nothing to change", {}],
    ["title empty", { title: "" }],
    ["body too long", { body: "b".repeat(100_001) }],
    ["an extra field", { title: "x", pinned: true }],
  ])("update, %s: 400, the note unchanged", async (_, body) =>
    isolated(async () => {
      const { cookie } = await signupUser();
      const notes = client(cookie).api.notes;
      const { note } = await (await notes.$post({ json: { title: "keep", body: "me" } })).json();
      expect((await as(cookie).send("PATCH", `/api/notes/${note.id}`, body)).status).toBe(400);
      expect(await (await notes[":id"].$get({ param: { id: note.id } })).json()).toMatchObject({
        note: { title: "keep", body: "me" },
      });
    }),
  );

  it.each([
    "limit=0",
    "limit=101",
    "limit=abc",
    "limit=1.5",
    "cursor=not-a-note",
    "cursor=not_X",
    "extra=1",
  ])("list with %s: 400", async (query) =>
    isolated(async () => {
      const me = as((await signupUser()).cookie);
      expect((await me.get(`/api/notes?${query}`)).status).toBe(400);
    }),
  );

  it("an id that does not exist: 404 for read, update and delete", async () =>
    rollback(async () => {
      const note = client((await signupUser()).cookie).api.notes[":id"];
      const param = { id: "not_01ARZ3NDEKTSV4RRFFQ69G5FAV" };
      expect((await note.$get({ param })).status).toBe(404);
      expect((await note.$patch({ param, json: { title: "x" } })).status).toBe(404);
      expect((await note.$delete({ param })).status).toBe(404);
      expect((await note.$get({ param: { id: "anything-at-all" } })).status).toBe(404);
    }));
});
