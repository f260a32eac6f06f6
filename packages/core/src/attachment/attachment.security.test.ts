import { describe, expect, it, vi } from "vitest";
import { client, rowCounts, signupUser } from "../../test/app";
import { errorOf } from "../../test/http";
import {
  A_PNG,
  A_PNG_DECLARED,
  download,
  PNG,
  postForm,
  startUpload,
  uploadAndProcess,
} from "../../test/uploads";
import { rollback } from "../db/transaction";
import { storage } from "../storage/storage";
import { sanitizeFilename } from "./attachment";

describe("attachments: security", () => {
  it("every route needs a session: 401, nothing written", async () =>
    rollback(async () => {
      const before = await rowCounts();
      const { api } = client();
      const att = { param: { id: "att_01ARZ3NDEKTSV4RRFFQ69G5FAV" } };
      const note = { param: { id: "not_01ARZ3NDEKTSV4RRFFQ69G5FAV" } };
      const file = { filename: "a.png", contentType: "image/png", size: 1 };
      const responses = await Promise.all([
        api.notes[":id"].attachments.$post({ ...note, json: file }),
        api.notes[":id"].attachments.$get(note),
        api.attachments[":id"].$get(att),
        api.attachments[":id"].complete.$post(att),
        api.attachments[":id"].$delete(att),
      ]);
      expect(responses.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
      expect(await rowCounts()).toEqual(before);
    }));

  it("another user's attachment, or note, is a 404 everywhere, and nothing changes", async () =>
    rollback(async () => {
      const owner = await signupUser();
      const other = client((await signupUser()).cookie).api;
      const { attachment, noteID } = await uploadAndProcess(owner.cookie, {
        filename: "private.png",
        contentType: "image/png",
        bytes: PNG,
      });
      const before = await rowCounts();
      const att = { param: { id: attachment.id } };
      const note = { param: { id: noteID } };
      expect((await other.attachments[":id"].$get(att)).status).toBe(404);
      expect((await other.attachments[":id"].complete.$post(att)).status).toBe(404);
      expect((await other.attachments[":id"].$delete(att)).status).toBe(404);
      expect((await other.notes[":id"].attachments.$get(note)).status).toBe(404);
      const file = { filename: "x.png", contentType: "image/png", size: 1 };
      expect((await other.notes[":id"].attachments.$post({ ...note, json: file })).status).toBe(
        404,
      );
      expect(await rowCounts()).toEqual(before);
      expect((await client(owner.cookie).api.attachments[":id"].$get(att)).status).toBe(200);
    }));

  it("filenames are cleaned for display and never reach the object key", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { attachment, upload } = await startUpload(cookie, {
        // Control characters the database can store are stripped for display (U+0000, which it
        // cannot store, is refused at the boundary: http/text.test.ts).
        filename: "../../etc/\u202Egnp.exe\u0001\n",
        contentType: "image/png",
        size: PNG.byteLength,
      });
      expect(attachment.filename).toBe("gnp.exe");
      expect(upload.fields.key).toBe(`attachments/incoming/${attachment.id}`);
    }));

  it.each([
    ["C:\\Users\\me\\photo.png", "photo.png"],
    ["report\u200B.pdf", "report.pdf"],
    ["  lots   of\tspace.txt ", "lots of space.txt"],
    ["..", "file"],
    ["\u0007", "file"],
    ["é".repeat(300), "é".repeat(255)],
    ["family 👨\u200d👩\u200d👧.png", "family 👨\u200d👩\u200d👧.png"],
    ["two \u202e spaces.png", "two spaces.png"],
  ])("sanitizeFilename(%j) is %j", (raw, clean) => {
    expect(sanitizeFilename(raw)).toBe(clean);
  });

  it("a download link cannot be altered to render inline, to live longer, or to name another file", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { download: link } = await uploadAndProcess(cookie, A_PNG);
      const url = new URL(link?.url ?? "");
      for (const [name, value] of [
        ["response-content-disposition", "inline"],
        ["response-content-type", "text/html"],
        ["X-Amz-Expires", "604800"],
      ] as const) {
        const altered = new URL(url);
        altered.searchParams.set(name, value);
        expect((await download(altered.toString())).status).toBe(403);
      }
      const dropped = new URL(url);
      dropped.searchParams.delete("response-content-disposition");
      expect((await download(dropped.toString())).status).toBe(403);
      // A link from a key that is not this one.
      const other = new URL(url);
      other.pathname = other.pathname.replace(/att_\w+$/, "att_01ARZ3NDEKTSV4RRFFQ69G5FAV");
      expect((await download(other.toString())).status).toBe(403);
    }));

  it("an upload form cannot write outside its key, even with a path that climbs", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { upload } = await startUpload(cookie, A_PNG_DECLARED);
      const response = await postForm(upload, PNG, { fields: { key: "../../escape" } });
      expect(response.status).toBe(403);
    }));

  it("the offline store answers malformed requests with a clear 4xx and stores nothing", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { upload } = await startUpload(cookie, A_PNG_DECLARED);
      const key = upload.fields.key ?? "";
      // Another bucket than the one the form names.
      const elsewhere = { ...upload, url: upload.url.replace(/\/uploads$/, "/other") };
      const cases: [Response, number, string][] = [
        [await postForm(elsewhere, PNG), 404, "No such bucket"],
        // Larger than any policy can allow (10 MB + room for the fields): refused before parsing.
        [
          await postForm(upload, new Uint8Array(10 * 1024 * 1024 + 64 * 1024 + 1)),
          413,
          "The upload is larger than any policy allows",
        ],
        [
          await download(`http://localhost/storage/uploads/${key}`),
          403,
          "The download link is not signed",
        ],
        [
          await download("http://localhost/storage/uploads/attachments/%E0%A4%A"),
          400,
          "Invalid object key",
        ],
      ];
      for (const [response, status, message] of cases) {
        expect({ status: response.status, message: (await errorOf(response)).message }).toEqual({
          status,
          message,
        });
      }
      expect(await (await storage()).head(key)).toBeUndefined();
    }));

  it("the offline store refuses a climbing key even in a validly signed policy", async () => {
    const form = await (await storage()).presignUpload({
      key: "../../outside",
      contentType: "image/png",
      size: PNG.byteLength,
      expiresSeconds: 60,
    });
    const response = await postForm(form, PNG);
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toBe("Invalid object key");
  });

  it("a download link stops working when it expires", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { download: link } = await uploadAndProcess(cookie, A_PNG);
      expect((await download(link?.url ?? "")).status).toBe(200);
      vi.useFakeTimers({ toFake: ["Date"] });
      try {
        vi.setSystemTime(Date.now() + 5 * 60_000 + 1_000);
        const late = await download(link?.url ?? "");
        expect(late.status).toBe(403);
        expect((await errorOf(late)).message).toBe("The download link has expired");
      } finally {
        vi.useRealTimers();
      }
    }));
});
