import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { as, client, rowCounts, signupUser } from "../../test/app";
import { isolated } from "../../test/database";
import { errorOf, issuesOf } from "../../test/http";
import { drain } from "../../test/tasks";
import { A_PNG_DECLARED, download, PNG, postForm, startUpload } from "../../test/uploads";
import { queryRows } from "../db/client";
import { rollback, useTransaction } from "../db/transaction";
import { Maintenance } from "../maintenance";
import { setStorage, storage } from "../storage/storage";
import { tasks } from "../tasks";
import { keys } from "./attachment.keys";
import { processUpload } from "./attachment.worker";

const png = A_PNG_DECLARED;

const stored = async (key: string) => (await storage()).head(key);

const read = (cookie: string, id: string) =>
  client(cookie).api.attachments[":id"].$get({ param: { id } });
const complete = (cookie: string, id: string) =>
  client(cookie).api.attachments[":id"].complete.$post({ param: { id } });
const attachment = async (cookie: string, id: string) =>
  (await (await read(cookie, id)).json()).attachment;

afterEach(() => {
  vi.useRealTimers();
});

describe("attachments: bad input to the API", () => {
  it.each<[string, unknown, string]>([
    ["filename missing", { contentType: "image/png", size: 10 }, "filename"],
    ["filename empty", { ...png, filename: "" }, "filename"],
    ["filename too long", { ...png, filename: "a".repeat(1001) }, "filename"],
    ["type not allowed (HTML)", { ...png, contentType: "text/html" }, "contentType"],
    ["type not allowed (SVG)", { ...png, contentType: "image/svg+xml" }, "contentType"],
    ["type a number", { ...png, contentType: 5 }, "contentType"],
    ["size zero", { ...png, size: 0 }, "size"],
    ["size negative", { ...png, size: -1 }, "size"],
    ["size fractional", { ...png, size: 1.5 }, "size"],
    ["size a string", { ...png, size: "10" }, "size"],
    ["size over the 10 MB limit", { ...png, size: 10 * 1024 * 1024 + 1 }, "size"],
    ["an extra field", { ...png, key: "attachments/mine" }, ""],
  ])("create, %s: 400 naming the field, nothing written", async (_, body, field) =>
    isolated(async () => {
      const { cookie } = await signupUser();
      const { note } = await (
        await client(cookie).api.notes.$post({ json: { title: "n" } })
      ).json();
      const before = await rowCounts();
      // Invalid on purpose: untyped.
      const response = await as(cookie).send("POST", `/api/notes/${note.id}/attachments`, body);
      expect(response.status).toBe(400);
      expect(await issuesOf(response)).toContain(field);
      expect(await rowCounts()).toEqual(before);
    }),
  );

  it("a size over the limit and a type not allowed: the issues carry the limit and the accepted types", async () =>
    rollback(async () => {
      const { api } = client((await signupUser()).cookie);
      const { note } = await (await api.notes.$post({ json: { title: "n" } })).json();
      const response = await api.notes[":id"].attachments.$post({
        param: { id: note.id },
        json: { ...png, contentType: "text/html", size: 10 * 1024 * 1024 + 1 },
      });
      expect(response.status).toBe(400);
      const allowed = [
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/gif",
        "application/pdf",
        "text/plain",
      ];
      // Values a client can word its own message from, next to the server's wording.
      expect((await errorOf(response)).details?.issues).toEqual([
        { path: "contentType", message: `must be one of ${allowed.join(", ")}`, allowed },
        { path: "size", message: "must be at most 10485760 bytes", limitBytes: 10 * 1024 * 1024 },
      ]);
    }));

  it("a note holds at most 20 attachments: the 21st is a 409; a rejected one takes no place", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { noteID, attachment: first } = await startUpload(cookie, png);
      for (let i = 1; i < 20; i++) await startUpload(cookie, png, noteID);
      const create = () =>
        client(cookie).api.notes[":id"].attachments.$post({ param: { id: noteID }, json: png });
      const refused = await create();
      expect(refused.status).toBe(409);
      expect((await errorOf(refused)).message).toBe("A note holds at most 20 attachments");
      // Rejected files stay listed with their reason until removed, and do not count.
      await useTransaction((tx) =>
        tx.execute(sql`update attachment set status = 'rejected' where id = ${first.id}`),
      );
      expect((await create()).status).toBe(201);
      expect((await create()).status).toBe(409);
    }));

  it("complete before the file is uploaded: 409, still pending, nothing queued", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { attachment: created } = await startUpload(cookie, png);
      const before = await rowCounts();
      const response = await complete(cookie, created.id);
      expect(response.status).toBe(409);
      expect((await errorOf(response)).message).toBe("The file has not been uploaded yet");
      expect(await rowCounts()).toEqual(before);
      expect((await attachment(cookie, created.id)).status).toBe("pending");
    }));

  it("ids that do not exist or are not attachment ids: 404", async () =>
    rollback(async () => {
      const { api } = client((await signupUser()).cookie);
      for (const id of [
        "att_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "not-an-id",
        "not_01ARZ3NDEKTSV4RRFFQ69G5FAV",
      ]) {
        expect((await api.attachments[":id"].$get({ param: { id } })).status).toBe(404);
        expect((await api.attachments[":id"].complete.$post({ param: { id } })).status).toBe(404);
        expect((await api.attachments[":id"].$delete({ param: { id } })).status).toBe(404);
      }
      const note = { param: { id: "not_01ARZ3NDEKTSV4RRFFQ69G5FAV" } };
      expect((await api.notes[":id"].attachments.$post({ ...note, json: png })).status).toBe(404);
      expect((await api.notes[":id"].attachments.$get(note)).status).toBe(404);
    }));
});

describe("attachments: the offline store enforces the upload policy, as S3 does", () => {
  it.each<[string, Uint8Array, Record<string, string>, number, RegExp]>([
    ["a file larger than declared", Buffer.concat([PNG, Buffer.from([0])]), {}, 413, /larger than/],
    ["a file smaller than declared", PNG.subarray(1), {}, 403, /smaller than/],
    ["another content type", PNG, { "Content-Type": "text/html" }, 403, /content-type/i],
    [
      "another key",
      PNG,
      { key: "attachments/incoming/att_01ARZ3NDEKTSV4RRFFQ69G5FAV" },
      403,
      /key/,
    ],
    ["a tampered signature", PNG, { "X-Amz-Signature": "0".repeat(64) }, 403, /signature/],
    ["a field the policy does not allow", PNG, { acl: "public-read" }, 403, /extra input fields/],
  ])("%s: refused with a clear error, nothing stored", async (_, bytes, fields, status, message) =>
    isolated(async () => {
      const { cookie } = await signupUser();
      const { upload } = await startUpload(cookie, png);
      const key = upload.fields.key ?? "";
      const response = await postForm(upload, bytes, { fields });
      expect(response.status).toBe(status);
      expect((await errorOf(response)).message).toMatch(message);
      expect(await stored(key)).toBeUndefined();
      expect(await stored("attachments/incoming/att_01ARZ3NDEKTSV4RRFFQ69G5FAV")).toBeUndefined();
    }),
  );

  it("an expired policy (past its 5 minutes): 403, nothing stored", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { upload } = await startUpload(cookie, png);
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + 5 * 60_000 + 1_000);
      const response = await postForm(upload, PNG);
      expect(response.status).toBe(403);
      expect((await errorOf(response)).message).toBe("The upload policy has expired");
      expect(await stored(upload.fields.key ?? "")).toBeUndefined();
    }));

  it("a form without a file, or not multipart: 400 and 415", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { upload } = await startUpload(cookie, png);
      const form = new FormData();
      for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
      const { site } = await import("../api");
      const path = new URL(upload.url).pathname;
      expect((await site.request(path, { method: "POST", body: form })).status).toBe(400);
      expect(
        (
          await site.request(path, {
            method: "POST",
            body: "{}",
            headers: { "content-type": "application/json" },
          })
        ).status,
      ).toBe(415);
    }));
});

describe("attachments: processing", () => {
  it("bytes that are not the declared type: rejected, and the object deleted", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      // An SVG (script-capable) passed off as a PNG: the policy is satisfied, the bytes are not.
      const svg = Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
      );
      const { attachment: created, upload } = await startUpload(cookie, {
        ...png,
        size: svg.byteLength,
      });
      expect((await postForm(upload, svg)).status).toBe(204);
      expect((await complete(cookie, created.id)).status).toBe(202);
      await drain(tasks);
      const after = await attachment(cookie, created.id);
      expect(after).toMatchObject({ status: "rejected", sha256: null });
      expect(after.rejectReason).toBe("The file's content is text/plain, not image/png");
      expect(await stored(keys(created.id).incoming)).toBeUndefined();
      expect(await stored(keys(created.id).file)).toBeUndefined();
      // No download link for a rejected file.
      expect((await (await read(cookie, created.id)).json()).download).toBeNull();
    }));

  it("processing twice, or complete called twice, has one effect", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { attachment: created, upload } = await startUpload(cookie, {
        ...png,
        contentType: "application/pdf",
      });
      expect((await postForm(upload, PNG)).status).toBe(204);
      for (let i = 0; i < 2; i++) {
        expect((await complete(cookie, created.id)).status).toBe(202);
      }
      await drain(tasks);
      const first = await attachment(cookie, created.id);
      expect(first.status).toBe("rejected");
      await processUpload(created.id);
      expect(await attachment(cookie, created.id)).toEqual(first);
      // One rejection, so one deletion queued.
      const [row] = await useTransaction((tx) =>
        queryRows<{ n: number }>(
          tx,
          sql`select count(*)::int as n from task_outbox where task = 'attachments.deleteObjects'`,
        ),
      );
      expect(row?.n).toBe(1);
      // Complete after processing returns the settled attachment without queueing anything.
      const again = await complete(cookie, created.id);
      expect((await again.json()).attachment.status).toBe("rejected");
    }));

  it("abandoned uploads (pending for an hour) are removed by maintenance.cleanup, with their objects", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const never = await startUpload(cookie, png);
      const uploadedNotCompleted = await startUpload(cookie, png, never.noteID);
      expect((await postForm(uploadedNotCompleted.upload, PNG)).status).toBe(204);
      const recent = await startUpload(cookie, png, never.noteID);
      await useTransaction((tx) =>
        tx.execute(
          sql`update attachment set created_at = now() - interval '61 minutes' where id in (${never.attachment.id}, ${uploadedNotCompleted.attachment.id})`,
        ),
      );
      expect(await Maintenance.cleanup()).toMatchObject({ abandonedUploads: 2 });
      await drain(tasks);
      expect((await read(cookie, never.attachment.id)).status).toBe(404);
      expect((await read(cookie, uploadedNotCompleted.attachment.id)).status).toBe(404);
      expect(await stored(uploadedNotCompleted.upload.fields.key ?? "")).toBeUndefined();
      expect((await attachment(cookie, recent.attachment.id)).status).toBe("pending");
      expect(await Maintenance.cleanup()).toMatchObject({ abandonedUploads: 0 });
    }));

  it("complete marks the attachment uploaded until the check has run", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { attachment: created, upload } = await startUpload(cookie, png);
      expect((await postForm(upload, PNG)).status).toBe(204);
      const response = await complete(cookie, created.id);
      expect((await response.json()).attachment.status).toBe("uploaded");
      await drain(tasks);
      expect((await attachment(cookie, created.id)).status).toBe("ready");
    }));

  it("a form replayed after the check cannot change the file that is served", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { attachment: created, upload } = await startUpload(cookie, png);
      expect((await postForm(upload, PNG)).status).toBe(204);
      await complete(cookie, created.id);
      await drain(tasks);
      // Same size, same declared type: the policy (as S3's would) accepts it again within 5 min.
      const forged = Buffer.alloc(PNG.byteLength, "A");
      expect((await postForm(upload, forged)).status).toBe(204);
      await complete(cookie, created.id);
      await drain(tasks);
      const { download: link } = await (await read(cookie, created.id)).json();
      const served = await download(link?.url ?? "");
      expect(Buffer.from(await served.arrayBuffer())).toEqual(PNG);
    }));

  it("a completed upload whose check keeps failing is not cleaned up as abandoned", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { attachment: created, upload } = await startUpload(cookie, png);
      expect((await postForm(upload, PNG)).status).toBe(204);
      await complete(cookie, created.id);
      await useTransaction((tx) =>
        tx.execute(
          sql`update attachment set created_at = now() - interval '1 day' where id = ${created.id}`,
        ),
      );
      expect(await Maintenance.cleanup()).toMatchObject({ abandonedUploads: 0 });
      expect((await attachment(cookie, created.id)).status).toBe("uploaded");
    }));

  it("an upload that expired before its check ran is rejected, not retried forever", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { attachment: created, upload } = await startUpload(cookie, png);
      expect((await postForm(upload, PNG)).status).toBe(204);
      await complete(cookie, created.id);
      // What the bucket's 14-day lifecycle rule does to an upload whose check never ran.
      await (await storage()).delete(keys(created.id).incoming);
      await drain(tasks);
      expect(await attachment(cookie, created.id)).toMatchObject({
        status: "rejected",
        rejectReason: "The upload expired before it could be checked",
      });
    }));

  it("a check that dies mid-work (after the copy, before the verdict) is retried to the same result, nothing lost", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { attachment: created, upload } = await startUpload(cookie, png);
      expect((await postForm(upload, PNG)).status).toBe(204);
      await complete(cookie, created.id);
      const real = await storage();
      // The worker dies while reading the copy it just made: the task's transaction rolls back.
      setStorage({
        ...real,
        read: async () => {
          throw new Error("worker killed");
        },
      });
      try {
        await expect(processUpload(created.id)).rejects.toThrow("worker killed");
      } finally {
        setStorage(real);
      }
      expect((await attachment(cookie, created.id)).status).toBe("uploaded");
      expect(await stored(keys(created.id).file)).toEqual({
        size: PNG.byteLength,
        contentType: "image/png",
      });
      // The queue delivers it again: the copy is reused, the verdict and hash are the same.
      await drain(tasks);
      expect(await attachment(cookie, created.id)).toMatchObject({
        status: "ready",
        sha256: createHash("sha256").update(PNG).digest("hex"),
      });
      expect(await stored(keys(created.id).incoming)).toBeUndefined();
    }));
});
