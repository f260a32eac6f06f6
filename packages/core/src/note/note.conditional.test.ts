import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { signupUser } from "../../test/app";
import { ORIGIN } from "../../test/http";
import { site } from "../api";
import { rollback, useTransaction } from "../db/transaction";
import { noteTable } from "./note.sql";

/**
 * Conditional note reads (ETag / If-None-Match → 304) through `site`, the app the Node server
 * serves, so the platform's own Cache-Control handling is part of what is tested.
 */
const as =
  (cookie: string) =>
  (path: string, init: RequestInit = {}) =>
    site.request(path, {
      ...init,
      headers: { origin: ORIGIN, cookie, ...(init.headers as Record<string, string>) },
    });

async function newNote(request: ReturnType<typeof as>, title = "private") {
  const response = await request("/api/notes", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ title, body: "mine" }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { note: { id: string } }).note.id;
}

describe("notes: conditional reads", () => {
  it("a read carries a strong ETag and private, no-cache; its tag gives a 304 with no body", () =>
    rollback(async () => {
      const owner = as((await signupUser()).cookie);
      const id = await newNote(owner);
      const first = await owner(`/api/notes/${id}`);
      expect(first.status).toBe(200);
      const tag = first.headers.get("etag");
      expect(tag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
      expect(first.headers.get("cache-control")).toBe("private, no-cache");

      for (const header of [tag ?? "", `W/${tag}`, `"other", ${tag}`, "*"]) {
        const again = await owner(`/api/notes/${id}`, { headers: { "if-none-match": header } });
        expect(again.status, header).toBe(304);
        expect(await again.text()).toBe("");
        expect(again.headers.get("etag")).toBe(tag);
        expect(again.headers.get("cache-control")).toBe("private, no-cache");
      }
      const other = await owner(`/api/notes/${id}`, { headers: { "if-none-match": '"nope"' } });
      expect(other.status).toBe(200);
      // Everything else of the API stays no-store, the note list included.
      expect((await owner("/api/notes")).headers.get("cache-control")).toBe("no-store");
    }));

  it("another user's ETag never gets a 304: a note they cannot read is a 404 first", () =>
    rollback(async () => {
      const owner = as((await signupUser()).cookie);
      const stranger = as((await signupUser()).cookie);
      const id = await newNote(owner);
      const tag = (await owner(`/api/notes/${id}`)).headers.get("etag") ?? "";
      for (const header of [tag, "*"]) {
        const response = await stranger(`/api/notes/${id}`, {
          headers: { "if-none-match": header },
        });
        expect(response.status).toBe(404);
        expect(response.headers.get("etag")).toBeNull();
        expect(response.headers.get("cache-control")).toBe("no-store");
      }
      // Signed out: 401, whatever the tag.
      const anonymous = await site.request(`/api/notes/${id}`, {
        headers: { origin: ORIGIN, "if-none-match": tag },
      });
      expect(anonymous.status).toBe(401);
    }));

  it("a change makes the old ETag stale: the owner's edit, and an operator's that leaves updated_at", () =>
    rollback(async () => {
      const owner = as((await signupUser()).cookie);
      const id = await newNote(owner);
      const tag = (await owner(`/api/notes/${id}`)).headers.get("etag") ?? "";

      const edit = await owner(`/api/notes/${id}`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ body: "changed" }),
      });
      expect(edit.status).toBe(200);
      const afterEdit = await owner(`/api/notes/${id}`, { headers: { "if-none-match": tag } });
      expect(afterEdit.status).toBe(200);
      expect(await afterEdit.json()).toMatchObject({ note: { body: "changed" } });
      const edited = afterEdit.headers.get("etag") ?? "";
      expect(edited).not.toBe(tag);

      // Moderation (admin/tables.ts) sets the title alone, updated_at untouched: the tag is of
      // the bytes, so it moves all the same.
      await useTransaction((tx) =>
        tx.update(noteTable).set({ title: "moderated" }).where(eq(noteTable.id, id)),
      );
      const moderated = await owner(`/api/notes/${id}`, { headers: { "if-none-match": edited } });
      expect(moderated.status).toBe(200);
      expect(await moderated.json()).toMatchObject({ note: { title: "moderated" } });

      // Deleted: 404, not a 304 for the copy the client still holds.
      await owner(`/api/notes/${id}`, { method: "DELETE" });
      const gone = await owner(`/api/notes/${id}`, {
        headers: { "if-none-match": moderated.headers.get("etag") ?? "" },
      });
      expect(gone.status).toBe(404);
    }));
});
