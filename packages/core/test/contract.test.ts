import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { app, openAPIDocument, site } from "../src/api";
import { rollback } from "../src/db/transaction";
import { client, signupUser } from "./app";
import { type Document, isWatched, takeViolations, watchResponses } from "./contract";
import { ORIGIN } from "./http";

/** A scratch app that answers documented paths the way no route may. */
function misbehaving() {
  return new Hono()
    .use(async (c, next) => {
      // The ids every response carries (http/app.ts), so what is wrong below is the rest.
      c.header("x-request-id", "r-1");
      c.header("x-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736");
      await next();
    })
    .get("/api/health", (c) => c.json({ status: "ok" }, 200))
    .get("/api/notes/:id", (c) => c.json({ note: { id: 1, title: "t" } }, 200))
    .get("/api/notes", (c) => c.json({ notes: [], nextCursor: null, total: 0 }, 200))
    .post("/api/notes", (c) => c.json({ teapot: true }, 418))
    .delete("/api/notes/:id", (c) => c.json({ deleted: true }, 200))
    .post("/api/auth/signup", (c) =>
      c.json({ error: { code: "rate_limited", message: "slow down" } }, 429),
    )
    .get("/api/notes/:id/attachments", (c) => c.text("nothing here", 404))
    .get("/api/docs", (c) => c.json({ html: "<p>" }, 200))
    .get("/api/undocumented", (c) => c.json({ ok: true }, 200));
}

describe("responses checked against the OpenAPI document", () => {
  it("is on for the app and the site every test file uses", () => {
    expect(isWatched(app)).toBe(true);
    expect(isWatched(site)).toBe(true);
  });

  it("catches an undocumented status, a field of the wrong type or not documented, a missing Retry-After, a body that is not the envelope, a path no operation has", async () => {
    const scratch = misbehaving();
    watchResponses(scratch, openAPIDocument);
    const send = (method: string, path: string) =>
      scratch.request(path, {
        method,
        headers: { origin: ORIGIN, "content-type": "application/json" },
        ...(method === "GET" ? {} : { body: "{}" }),
      });

    await send("GET", "/api/health");
    expect(await takeViolations()).toEqual([]);

    await send("GET", "/api/notes/not_1");
    await send("GET", "/api/notes");
    await send("POST", "/api/notes");
    await send("DELETE", "/api/notes/not_1");
    await send("POST", "/api/auth/signup");
    await send("GET", "/api/notes/not_1/attachments");
    await send("GET", "/api/docs");
    await send("GET", "/api/undocumented");
    const found = await takeViolations();
    const about = (start: string) => found.filter((v) => v.startsWith(start)).join("\n");

    expect(about("GET /api/notes/not_1:")).toContain("body/note/id must be string");
    expect(about("GET /api/notes/not_1:")).toContain("must have required property 'body'");
    expect(about("GET /api/notes:")).toContain("must NOT have additional properties (total)");
    expect(about("POST /api/notes:")).toContain("418 is not a documented status of createNote");
    expect(about("DELETE /api/notes/not_1:")).toContain(
      "200 is not a documented status of deleteNote",
    );
    expect(about("POST /api/auth/signup:")).toContain("lacks its required Retry-After header");
    expect(about("GET /api/notes/not_1/attachments:")).toContain(
      "documented as JSON, not text/plain",
    );
    expect(about("GET /api/docs:")).toContain("documented as text/html, not application/json");
    expect(about("GET /api/undocumented:")).toContain("no operation documents");
    // A note read documents its conditional headers (ETag, Cache-Control) as required.
    expect(about("GET /api/notes/not_1:")).toContain("lacks its required ETag header");
    expect(about("GET /api/notes/not_1:")).toContain("lacks its required Cache-Control header");
    expect(found).toHaveLength(13);
  });

  // In a transaction rolled back at the end: on Postgres the files share one database, and this
  // test's committed user and note showed up in other files' digests and row counts.
  it("holds the real app's real responses to the document: a document that lost a status or changed a type fails them", async () =>
    rollback(async () => {
      // The live document, with createNote's 201 gone and a note's title a number.
      const doctored = structuredClone(await openAPIDocument()) as unknown as Document;
      const notes = doctored.paths["/api/notes"];
      delete notes?.post?.responses?.["201"];
      const read = JSON.stringify(doctored.paths["/api/notes/{id}"]?.get).replace(
        '"title":{"type":"string"}',
        '"title":{"type":"number"}',
      );
      const byID = doctored.paths["/api/notes/{id}"];
      if (byID) byID.get = JSON.parse(read);
      const target = { fetch: (request: Request) => app.fetch(request) };
      watchResponses(target, async () => doctored);

      const { cookie } = await signupUser();
      const created = await target.fetch(
        new Request("http://localhost/api/notes", {
          method: "POST",
          headers: { origin: ORIGIN, cookie, "content-type": "application/json" },
          body: JSON.stringify({ title: "watched" }),
        }),
      );
      expect(created.status).toBe(201);
      const { note } = (await created.json()) as { note: { id: string } };
      await target.fetch(
        new Request(`http://localhost/api/notes/${note.id}`, { headers: { cookie } }),
      );

      expect(await takeViolations()).toEqual([
        "POST /api/notes: 201 is not a documented status of createNote (400, 401, 403, 409, 413, 415, 429, 500, 503)",
        `GET /api/notes/${note.id}: 200 of getNote: body/note/title must be number`,
      ]);
      // The same responses keep the true document: nothing was recorded by the suite's own check.
      const response = await client(cookie).api.notes[":id"].$get({ param: { id: note.id } });
      expect(response.status).toBe(200);
      expect(await takeViolations()).toEqual([]);
    }));
});
