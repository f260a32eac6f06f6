import { describe, expect, it } from "vitest";
import { as, signupUser } from "../../test/app";
import { rollback } from "../db/transaction";

type NoteBody = {
  note: { id: string; title: string; body: string; createdAt: string; updatedAt: string };
};
type Page = { notes: NoteBody["note"][]; nextCursor: string | null };

describe("notes: happy paths", () => {
  it("create, read, update, delete", async () =>
    rollback(async () => {
      const me = as((await signupUser()).cookie);
      const created = await me.send("POST", "/api/notes", { title: "Groceries", body: "milk" });
      expect(created.status).toBe(201);
      const { note } = (await created.json()) as NoteBody;
      expect(note).toMatchObject({
        id: expect.stringMatching(/^not_[0-9A-Z]{26}$/),
        title: "Groceries",
        body: "milk",
      });

      expect(await (await me.get(`/api/notes/${note.id}`)).json()).toEqual({ note });

      const patched = await me.send("PATCH", `/api/notes/${note.id}`, { body: "milk, eggs" });
      expect(patched.status).toBe(200);
      const updated = ((await patched.json()) as NoteBody).note;
      expect(updated).toMatchObject({ title: "Groceries", body: "milk, eggs" });
      expect(updated.updatedAt >= note.updatedAt).toBe(true);

      expect((await me.send("DELETE", `/api/notes/${note.id}`)).status).toBe(204);
      expect((await me.get(`/api/notes/${note.id}`)).status).toBe(404);
    }));

  it("lists newest first with keyset pagination: every note once, in order, across pages", async () =>
    rollback(async () => {
      const me = as((await signupUser()).cookie);
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) {
        ids.push(
          ((await (await me.send("POST", "/api/notes", { title: `note ${i}` })).json()) as NoteBody)
            .note.id,
        );
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = (await (
          await me.get(`/api/notes?limit=10${cursor ? `&cursor=${cursor}` : ""}`)
        ).json()) as Page;
        seen.push(...page.notes.map((n) => n.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].reverse());
      // Default page size is 20.
      expect(((await (await me.get("/api/notes")).json()) as Page).notes).toHaveLength(20);
    }));

  it("stores SQL-like and HTML-like text verbatim", async () =>
    rollback(async () => {
      const me = as((await signupUser()).cookie);
      const title = `Robert'); DROP TABLE note;-- <script>alert(1)</script>`;
      const body = `' OR 1=1 --\n<img src=x onerror=alert(1)>\n\${process.env}\n\u0000?`.replace(
        "\u0000",
        "nul",
      );
      const { note } = (await (
        await me.send("POST", "/api/notes", { title, body })
      ).json()) as NoteBody;
      expect(note).toMatchObject({ title, body });
      expect((await (await me.get(`/api/notes/${note.id}`)).json()) as NoteBody).toMatchObject({
        note: { title, body },
      });
    }));

  it("accepts a body of exactly 100 000 characters", async () =>
    rollback(async () => {
      const me = as((await signupUser()).cookie);
      expect(
        (await me.send("POST", "/api/notes", { title: "long", body: "x".repeat(100_000) })).status,
      ).toBe(201);
    }));
});
