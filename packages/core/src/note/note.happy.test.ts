import { describe, expect, it } from "vitest";
import { client, signupUser } from "../../test/app";
import { rollback } from "../db/transaction";

describe("notes: happy paths", () => {
  it("create, read, update, delete", async () =>
    rollback(async () => {
      const notes = client((await signupUser()).cookie).api.notes;
      const created = await notes.$post({ json: { title: "Groceries", body: "milk" } });
      expect(created.status).toBe(201);
      const { note } = await created.json();
      const param = { id: note.id };
      expect(note).toMatchObject({
        id: expect.stringMatching(/^not_[0-9A-Z]{26}$/),
        title: "Groceries",
        body: "milk",
      });

      expect(await (await notes[":id"].$get({ param })).json()).toEqual({ note });

      const patched = await notes[":id"].$patch({ param, json: { body: "milk, eggs" } });
      expect(patched.status).toBe(200);
      const updated = (await patched.json()).note;
      expect(updated).toMatchObject({ title: "Groceries", body: "milk, eggs" });
      expect(updated.updatedAt >= note.updatedAt).toBe(true);

      expect((await notes[":id"].$delete({ param })).status).toBe(204);
      expect((await notes[":id"].$get({ param })).status).toBe(404);
    }));

  it("lists newest first with keyset pagination: every note once, in order, across pages", async () =>
    rollback(async () => {
      const notes = client((await signupUser()).cookie).api.notes;
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) {
        ids.push((await (await notes.$post({ json: { title: `note ${i}` } })).json()).note.id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await (
          await notes.$get({ query: { limit: "10", ...(cursor ? { cursor } : {}) } })
        ).json();
        seen.push(...page.notes.map((n) => n.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].reverse());
      // Default page size is 20.
      expect((await (await notes.$get({ query: {} })).json()).notes).toHaveLength(20);
    }));

  it("stores SQL-like and HTML-like text verbatim", async () =>
    rollback(async () => {
      const notes = client((await signupUser()).cookie).api.notes;
      const title = `Robert'); DROP TABLE note;-- <script>alert(1)</script>`;
      const body = `' OR 1=1 --\n<img src=x onerror=alert(1)>\n\${process.env}\n\u0000?`.replace(
        "\u0000",
        "nul",
      );
      const { note } = await (await notes.$post({ json: { title, body } })).json();
      expect(note).toMatchObject({ title, body });
      expect(await (await notes[":id"].$get({ param: { id: note.id } })).json()).toMatchObject({
        note: { title, body },
      });
    }));

  it("accepts a body of exactly 100 000 characters", async () =>
    rollback(async () => {
      const notes = client((await signupUser()).cookie).api.notes;
      expect(
        (await notes.$post({ json: { title: "long", body: "x".repeat(100_000) } })).status,
      ).toBe(201);
    }));
});
