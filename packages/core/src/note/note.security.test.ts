import { describe, expect, it } from "vitest";
import { as, rowCounts, signupUser } from "../../test/app";
import { jsonRequest } from "../../test/http";
import { app } from "../api";
import { rollback } from "../db/transaction";

describe("notes: security", () => {
  it("every route needs a session: 401, nothing written", async () =>
    rollback(async () => {
      const before = await rowCounts();
      const id = "not_01ARZ3NDEKTSV4RRFFQ69G5FAV";
      const responses = await Promise.all([
        app.request("/api/notes"),
        app.request("/api/notes", jsonRequest({ title: "x" })),
        app.request(`/api/notes/${id}`),
        app.request(`/api/notes/${id}`, jsonRequest({ title: "x" }, { method: "PATCH" })),
        app.request(`/api/notes/${id}`, jsonRequest({}, { method: "DELETE" })),
      ]);
      expect(responses.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
      expect(await rowCounts()).toEqual(before);
    }));

  it("another user's note is a 404 for read, update and delete, and stays as it was", async () =>
    rollback(async () => {
      const owner = as((await signupUser()).cookie);
      const other = as((await signupUser()).cookie);
      const { note } = (await (
        await owner.send("POST", "/api/notes", { title: "private", body: "mine" })
      ).json()) as {
        note: { id: string };
      };
      expect((await other.get(`/api/notes/${note.id}`)).status).toBe(404);
      expect((await other.send("PATCH", `/api/notes/${note.id}`, { title: "pwned" })).status).toBe(
        404,
      );
      expect((await other.send("DELETE", `/api/notes/${note.id}`)).status).toBe(404);
      expect(
        ((await (await other.get("/api/notes")).json()) as { notes: unknown[] }).notes,
      ).toEqual([]);
      expect(await (await owner.get(`/api/notes/${note.id}`)).json()).toMatchObject({
        note: { title: "private", body: "mine" },
      });
    }));

  it("a cursor from another user's note reveals nothing of theirs", async () =>
    rollback(async () => {
      const owner = as((await signupUser()).cookie);
      const other = as((await signupUser()).cookie);
      const { note } = (await (
        await owner.send("POST", "/api/notes", { title: "private" })
      ).json()) as { note: { id: string } };
      const page = (await (await other.get(`/api/notes?cursor=${note.id}`)).json()) as {
        notes: unknown[];
      };
      expect(page.notes).toEqual([]);
    }));

  it("CSRF: a write from a foreign origin is 403 and changes nothing", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const before = await rowCounts();
      const response = await app.request(
        "/api/notes",
        jsonRequest({ title: "x" }, { headers: { cookie, origin: "https://evil.example" } }),
      );
      expect(response.status).toBe(403);
      expect(await rowCounts()).toEqual(before);
    }));
});
