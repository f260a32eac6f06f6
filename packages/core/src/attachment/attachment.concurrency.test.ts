import { describe, expect, it } from "vitest";
import { bootApp, freshDatabase } from "../../test/database";
import { jsonRequest } from "../../test/http";

/**
 * Committed transactions, not a test's rollback: what concurrent requests really do. On Postgres
 * (CI runs it) the creates race on two connections; the note's row lock is what keeps the cap.
 */
describe("attachments: concurrency", () => {
  it("the 20-per-note cap holds when creates race: of 6 concurrent creates on 18, exactly 2 succeed", async () => {
    const fresh = await freshDatabase();
    const { app, migrator, config } = await bootApp(fresh.env);
    await migrator.migrate(
      (await (await import("../db/client")).database()).db,
      config.migrationsDir,
    );
    const signup = await app.request(
      "/api/auth/signup",
      jsonRequest({ email: "racer@example.com", password: "a strong password", name: "R" }),
    );
    const cookie = (signup.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const as = { headers: { cookie } };
    const { note } = (await (
      await app.request("/api/notes", jsonRequest({ title: "busy" }, as))
    ).json()) as { note: { id: string } };
    const file = { filename: "a.png", contentType: "image/png", size: 10 };
    const create = () => app.request(`/api/notes/${note.id}/attachments`, jsonRequest(file, as));
    for (let i = 0; i < 18; i++) expect((await create()).status).toBe(201);

    const statuses = (await Promise.all(Array.from({ length: 6 }, create))).map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(2);
    expect(statuses.filter((s) => s === 409)).toHaveLength(4);
    const listed = (await (await app.request(`/api/notes/${note.id}/attachments`, as)).json()) as {
      attachments: unknown[];
    };
    expect(listed.attachments).toHaveLength(20);
  });
});
