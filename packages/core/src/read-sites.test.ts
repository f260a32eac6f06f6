import { describe, expect, it } from "vitest";
import { bootApp, freshDatabase } from "../test/database";
import { jsonRequest } from "../test/http";

/**
 * The app's read sites against a replica that never catches up: the reader is a second, empty
 * (migrated) database, so what a request reads there is visibly not the primary's. Which routes
 * read the replica is then a fact of the responses, not of the code.
 */
async function bootWithLaggingReplica() {
  const primary = await freshDatabase({ migrated: true });
  const replica = await freshDatabase({ migrated: true });
  const booted = await bootApp(primary.env, primary.handle);
  booted.client.setReaderDatabase(replica.handle);
  const [Account, Note, actor, reader] = await Promise.all([
    import("./account/account"),
    import("./note/note"),
    import("./actor"),
    import("./db/reader"),
  ]);
  const send = (cookie: string, method: string, path: string, body?: unknown) =>
    method === "GET"
      ? booted.app.request(path, { headers: { cookie } })
      : booted.app.request(path, jsonRequest(body ?? {}, { method, headers: { cookie } }));
  const signup = async (email: string) => {
    const response = await booted.app.request(
      "/api/auth/signup",
      jsonRequest({ email, password: "a strong password", name: "R" }),
    );
    expect(response.status).toBe(201);
    const { user } = (await response.json()) as { user: { id: string } };
    return { cookie: response.headers.get("set-cookie")?.split(";")[0] ?? "", id: user.id };
  };
  return { booted, Account, Note, actor, reader, send, signup };
}

describe("read sites on a replica that lags", () => {
  it("the note list reads the replica; the note itself, the session and every write the primary", async () => {
    const { send, signup } = await bootWithLaggingReplica();
    const { cookie } = await signup("reader.notes@example.com");
    const created = await send(cookie, "POST", "/api/notes", { title: "On the primary" });
    expect(created.status).toBe(201);
    const { note } = (await created.json()) as { note: { id: string } };

    // The session was found (account.session reads the primary) and the list is the replica's.
    const list = await send(cookie, "GET", "/api/notes");
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual({ notes: [], nextCursor: null });
    // A note opened after it was saved is the primary's (note.byID: reader false).
    const opened = await send(cookie, "GET", `/api/notes/${note.id}`);
    expect(opened.status).toBe(200);
  });

  it("the admin table browser reads the replica", async () => {
    const { send, signup, Account } = await bootWithLaggingReplica();
    const admin = await signup("reader.admin@example.com");
    await Account.setRole(admin.id, "admin");
    const rows = await send(admin.cookie, "GET", "/api/admin/tables/user/rows");
    expect(rows.status).toBe(200);
    // The primary has this admin; the replica has no user at all.
    expect(((await rows.json()) as { rows: unknown[] }).rows).toEqual([]);
  });

  it("a request that wrote reads its write: the list after a create in the same request is the primary's", async () => {
    const { Note, actor, reader, signup } = await bootWithLaggingReplica();
    const { id } = await signup("reader.own-write@example.com");
    const asUser = <T>(fn: () => Promise<T>) => actor.withActor({ type: "user", userID: id }, fn);
    // What the request middleware opens for every request (http/app.ts).
    const [before, after] = await reader.withReadScope(() =>
      asUser(async () => {
        const before = await Note.list();
        await Note.create({ title: "Mine" });
        return [before, await Note.list()] as const;
      }),
    );
    expect(before.notes).toEqual([]);
    expect(after.notes.map((n) => n.title)).toEqual(["Mine"]);
  });
});
