import { afterEach, describe, expect, it, vi } from "vitest";
import { bootApp, freshDatabase } from "../../test/database";
import { PNG } from "../../test/fixtures/png";
import { errorOf } from "../../test/http";

/**
 * Per-user quotas, black-box through the API of an app booted with small limits, on a database of
 * its own (committed, as real requests are). On Postgres (CI's second phase) the parallel
 * requests really race on a pool of 10 connections: the quota lock is what keeps each count.
 * Each refusal is checked for status, code, message, details, Retry-After, and that it wrote
 * nothing; each limit is per user.
 */
async function appWith(env: Record<string, string>) {
  const fresh = await freshDatabase({ migrated: true });
  const booted = await bootApp(
    { ...fresh.env, DATABASE_POOL_MAX: "10", ...env },
    process.env.TEST_DATABASE_URL ? undefined : fresh.handle,
  );
  await booted.migrator.migrate((await booted.client.database()).db, booted.config.migrationsDir);
  // Imported after bootApp: these helpers drive the booted app and count its database's rows.
  const [helpers, uploads, tasks, registry] = await Promise.all([
    import("../../test/app"),
    import("../../test/uploads"),
    import("../../test/tasks"),
    import("../tasks"),
  ]);
  return { ...helpers, ...uploads, drain: () => tasks.drain(registry.tasks) };
}

const json = async <T>(response: Response) => (await response.json()) as T;
type Created = { note: { id: string } };

afterEach(() => {
  vi.useRealTimers();
});

describe("quotas: notes per user (QUOTA_NOTES_PER_USER)", () => {
  it("the (N+1)th note is a 409 quota_exceeded with the limit and the count, writing nothing; another user is unaffected; deleting one makes room", async () => {
    const t = await appWith({ QUOTA_NOTES_PER_USER: "3" });
    const alice = t.as((await t.signupUser()).cookie);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await alice.send("POST", "/api/notes", { title: `note ${i}` });
      expect(created.status).toBe(201);
      ids.push((await json<Created>(created)).note.id);
    }

    const before = await t.rowCounts();
    const refused = await alice.send("POST", "/api/notes", { title: "one too many" });
    expect(refused.status).toBe(409);
    expect(refused.headers.get("retry-after")).toBeNull();
    expect(await errorOf(refused)).toEqual({
      code: "quota_exceeded",
      message: "You have 3 notes, the most an account may hold (3); delete some to add more",
      details: { limit: 3, used: 3 },
    });
    expect(await t.rowCounts()).toEqual(before);

    const bob = t.as((await t.signupUser()).cookie);
    expect((await bob.send("POST", "/api/notes", { title: "bob's" })).status).toBe(201);

    expect((await alice.send("DELETE", `/api/notes/${ids[0]}`)).status).toBe(204);
    expect((await alice.send("POST", "/api/notes", { title: "room again" })).status).toBe(201);
  });

  it("the cap holds when creates race: of 8 parallel creates at limit - 1, exactly 1 succeeds", async () => {
    const t = await appWith({ QUOTA_NOTES_PER_USER: "5" });
    const user = t.as((await t.signupUser()).cookie);
    for (let i = 0; i < 4; i++) {
      expect((await user.send("POST", "/api/notes", { title: `note ${i}` })).status).toBe(201);
    }
    const statuses = (
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          user.send("POST", "/api/notes", { title: `race ${i}` }),
        ),
      )
    ).map((response) => response.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    const listed = await json<{ notes: unknown[] }>(await user.get("/api/notes?limit=100"));
    expect(listed.notes).toHaveLength(5);
  });
});

describe("quotas: attachment bytes per user (QUOTA_ATTACHMENT_BYTES_PER_USER)", () => {
  const png = (size: number) => ({ filename: "a.png", contentType: "image/png", size });

  it("an upload that would take the user's pending and checked bytes past the quota is a 413 storage_quota_exceeded with limitBytes and usedBytes, writing nothing; the quota is the user's, across notes", async () => {
    const t = await appWith({ QUOTA_ATTACHMENT_BYTES_PER_USER: "1000" });
    const cookie = (await t.signupUser()).cookie;
    const alice = t.as(cookie);
    const first = await t.startUpload(cookie, png(600));

    const before = await t.rowCounts();
    const refused = await alice.send("POST", `/api/notes/${first.noteID}/attachments`, png(401));
    expect(refused.status).toBe(413);
    expect(refused.headers.get("retry-after")).toBeNull();
    expect(await errorOf(refused)).toEqual({
      code: "storage_quota_exceeded",
      message:
        "This file (401 bytes) does not fit: your attachments use 600 of the 1000 bytes an account may hold; delete some to make room",
      details: { limitBytes: 1000, usedBytes: 600 },
    });
    expect(await t.rowCounts()).toEqual(before);

    // Exactly full is allowed, on another note: the total is per user, not per note.
    await t.startUpload(cookie, png(400));
    const full = await alice.send("POST", `/api/notes/${first.noteID}/attachments`, png(1));
    expect(full.status).toBe(413);
    expect((await errorOf(full)).details).toEqual({ limitBytes: 1000, usedBytes: 1000 });

    // Another user has a quota of their own.
    await t.startUpload((await t.signupUser()).cookie, png(1000));
  });

  it("bytes count as checked: a ready file holds its real size, a rejected one frees its bytes, a deleted one too", async () => {
    const t = await appWith({ QUOTA_ATTACHMENT_BYTES_PER_USER: String(PNG.byteLength + 100) });
    const cookie = (await t.signupUser()).cookie;
    const alice = t.as(cookie);
    const usedBytes = async (noteID: string) => {
      const response = await alice.send("POST", `/api/notes/${noteID}/attachments`, png(10_000));
      expect(response.status).toBe(413);
      return ((await errorOf(response)).details as { usedBytes: number }).usedBytes;
    };

    const ready = await t.uploadAndProcess(cookie, t.A_PNG);
    expect(ready.attachment.status).toBe("ready");
    expect(await usedBytes(ready.noteID)).toBe(PNG.byteLength);

    // 100 bytes declared as a PNG that are not one: held while pending and uploaded, freed once
    // the check rejects them.
    const fake = { filename: "b.png", contentType: "image/png", bytes: new Uint8Array(100) };
    const rejected = await t.uploadAndProcess(cookie, fake, ready.noteID);
    expect(rejected.attachment.status).toBe("rejected");
    expect(await usedBytes(ready.noteID)).toBe(PNG.byteLength);

    const pending = await t.startUpload(cookie, png(100), ready.noteID);
    expect(await usedBytes(ready.noteID)).toBe(PNG.byteLength + 100);
    expect((await alice.send("DELETE", `/api/attachments/${pending.attachment.id}`)).status).toBe(
      204,
    );
    expect((await alice.send("DELETE", `/api/attachments/${ready.attachment.id}`)).status).toBe(
      204,
    );
    expect(await usedBytes(ready.noteID)).toBe(0);
    await t.drain();
  });

  it("the quota holds when uploads race on different notes: of 6 parallel 600-byte uploads into 1000 bytes, exactly 1 is accepted", async () => {
    const t = await appWith({ QUOTA_ATTACHMENT_BYTES_PER_USER: "1000" });
    const user = t.as((await t.signupUser()).cookie);
    const notes: string[] = [];
    for (let i = 0; i < 6; i++) {
      notes.push(
        (await json<Created>(await user.send("POST", "/api/notes", { title: `n${i}` }))).note.id,
      );
    }
    const statuses = (
      await Promise.all(
        notes.map((id) => user.send("POST", `/api/notes/${id}/attachments`, png(600))),
      )
    ).map((response) => response.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 413)).toHaveLength(5);
  });
});

describe("quotas: writes per minute per user (QUOTA_WRITES_PER_MINUTE)", () => {
  it("past the limit an unsafe request is a 429 rate_limited with Retry-After, before any handler runs; reads, other users and signing out are unaffected; the next minute starts afresh", async () => {
    // Only Date is faked (timers stay real): 10 s into a minute, so 50 s are left in its window.
    const start = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 10_000);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(start);
    const t = await appWith({ QUOTA_WRITES_PER_MINUTE: "3" });
    const { cookie } = await t.signupUser();
    const alice = t.as(cookie);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await alice.send("POST", "/api/notes", { title: `note ${i}` });
      expect(created.status).toBe(201);
      ids.push((await json<Created>(created)).note.id);
    }

    const before = await t.rowCounts();
    const expected = {
      code: "rate_limited",
      message: "Too many changes: at most 3 a minute; try again in 50 s",
      details: { limit: 3, windowSeconds: 60, retryAfterSeconds: 50 },
    };
    for (const [method, path] of [
      ["POST", "/api/notes"],
      ["PATCH", `/api/notes/${ids[0]}`],
      ["DELETE", `/api/notes/${ids[1]}`],
    ] as const) {
      const refused = await alice.send(method, path, { title: "changed" });
      expect(refused.status, `${method} ${path}`).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("50");
      expect(await errorOf(refused)).toEqual(expected);
    }
    expect(await t.rowCounts()).toEqual(before);
    const listed = await json<{ notes: { title: string }[] }>(await alice.get("/api/notes"));
    expect(listed.notes.map((n) => n.title)).toEqual(["note 2", "note 1", "note 0"]);

    const bob = t.as((await t.signupUser()).cookie);
    expect((await bob.send("POST", "/api/notes", { title: "bob's" })).status).toBe(201);

    vi.setSystemTime(new Date(start.getTime() + 50_000));
    expect((await alice.send("POST", "/api/notes", { title: "next minute" })).status).toBe(201);
    const more = [];
    for (let i = 0; i < 3; i++) {
      more.push((await alice.send("POST", "/api/notes", { title: "more" })).status);
    }
    expect(more).toEqual([201, 201, 429]);
    // Limited, and signing out still works.
    expect((await alice.send("POST", "/api/auth/logout")).status).toBe(204);
  });
});
