import { describe, expect, it } from "vitest";
import { client, rowCounts, signupUser } from "../../test/app";
import { rollback } from "../db/transaction";

describe("notes: security", () => {
  it("every route needs a session: 401, nothing written", async () =>
    rollback(async () => {
      const before = await rowCounts();
      const { notes } = client().api;
      const param = { id: "not_01ARZ3NDEKTSV4RRFFQ69G5FAV" };
      const responses = await Promise.all([
        notes.$get({ query: {} }),
        notes.$post({ json: { title: "x" } }),
        notes[":id"].$get({ param }),
        notes[":id"].$patch({ param, json: { title: "x" } }),
        notes[":id"].$delete({ param }),
      ]);
      expect(responses.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
      expect(await rowCounts()).toEqual(before);
    }));

  it("another user's note is a 404 for read, update and delete, and stays as it was", async () =>
    rollback(async () => {
      const owner = client((await signupUser()).cookie).api.notes;
      const other = client((await signupUser()).cookie).api.notes;
      const { note } = await (
        await owner.$post({ json: { title: "private", body: "mine" } })
      ).json();
      const param = { id: note.id };
      expect((await other[":id"].$get({ param })).status).toBe(404);
      expect((await other[":id"].$patch({ param, json: { title: "pwned" } })).status).toBe(404);
      expect((await other[":id"].$delete({ param })).status).toBe(404);
      expect((await (await other.$get({ query: {} })).json()).notes).toEqual([]);
      expect(await (await owner[":id"].$get({ param })).json()).toMatchObject({
        note: { title: "private", body: "mine" },
      });
    }));

  it("a cursor from another user's note reveals nothing of theirs", async () =>
    rollback(async () => {
      const owner = client((await signupUser()).cookie).api.notes;
      const other = client((await signupUser()).cookie).api.notes;
      const { note } = await (await owner.$post({ json: { title: "private" } })).json();
      const page = await (await other.$get({ query: { cursor: note.id } })).json();
      expect(page.notes).toEqual([]);
    }));

  it("CSRF: a write from a foreign origin is 403 and changes nothing", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const before = await rowCounts();
      const response = await client(cookie).api.notes.$post(
        { json: { title: "x" } },
        { headers: { origin: "https://evil.example" } },
      );
      expect(response.status).toBe(403);
      expect(await rowCounts()).toEqual(before);
    }));
});
