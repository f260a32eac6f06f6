import { describe, expect, it } from "vitest";
import { client } from "../../test/app";
import { bootApp, freshDatabase } from "../../test/database";

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
    const signup = await client(undefined, app).api.auth.signup.$post({
      json: { email: "racer@example.com", password: "a strong password", name: "R" },
    });
    const cookie = (signup.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const { api } = client(cookie, app);
    const { note } = await (await api.notes.$post({ json: { title: "busy" } })).json();
    const param = { id: note.id };
    const file = { filename: "a.png", contentType: "image/png", size: 10 };
    const create = () => api.notes[":id"].attachments.$post({ param, json: file });
    for (let i = 0; i < 18; i++) expect((await create()).status).toBe(201);

    // Typed as the route's 201 only: errors come from the error handler, unknown to the client.
    const statuses: number[] = (await Promise.all(Array.from({ length: 6 }, create))).map(
      (r) => r.status,
    );
    expect(statuses.filter((s) => s === 201)).toHaveLength(2);
    expect(statuses.filter((s) => s === 409)).toHaveLength(4);
    const listed = await (await api.notes[":id"].attachments.$get({ param })).json();
    expect(listed.attachments).toHaveLength(20);
  });
});
