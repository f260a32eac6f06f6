import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { client, signupUser } from "../../test/app";
import { drain } from "../../test/tasks";
import { A_PNG, download, PNG, uploadAndProcess } from "../../test/uploads";
import { rollback } from "../db/transaction";
import { storage } from "../storage/storage";
import { tasks } from "../tasks";
import { keys } from "./attachment.keys";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("attachments: happy paths", () => {
  it("upload a PNG through the presigned form, complete, and it becomes ready with its sha256 and a download link", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const result = await uploadAndProcess(cookie, {
        filename: "pixel.png",
        contentType: "image/png",
        bytes: PNG,
      });
      expect(result.attachment).toMatchObject({
        id: expect.stringMatching(/^att_[0-9A-Z]{26}$/),
        filename: "pixel.png",
        contentType: "image/png",
        size: PNG.byteLength,
        status: "ready",
        sha256: sha256(PNG),
        rejectReason: null,
      });
      // The policy pinned the key to the id; the name the user gave appears nowhere in it.
      expect(result.upload.fields.key).toBe(`attachments/incoming/${result.attachment.id}`);
      // Checked and ready: the upload was copied to the file key and is gone from the upload key.
      expect(await (await storage()).head(keys(result.attachment.id).incoming)).toBeUndefined();

      expect(result.download).not.toBeNull();
      const file = await download(result.download?.url ?? "");
      expect(file.status).toBe(200);
      expect(Buffer.from(await file.arrayBuffer())).toEqual(PNG);
      expect(file.headers.get("content-type")).toBe("image/png");
      expect(file.headers.get("content-disposition")).toBe(
        `attachment; filename="pixel.png"; filename*=UTF-8''pixel.png`,
      );
    }));

  it("accepts each default type whose bytes match: JPEG, GIF, WebP, PDF and UTF-8 text", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const files = {
        "image/jpeg": Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1]),
        "image/gif": Buffer.from("GIF89a\x01\x00\x01\x00\x00\x00\x00;", "latin1"),
        "image/webp": Buffer.concat([
          Buffer.from("RIFF"),
          Buffer.from([26, 0, 0, 0]),
          Buffer.from("WEBPVP8 "),
          Buffer.alloc(14),
        ]),
        "application/pdf": Buffer.from("%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"),
        "text/plain": Buffer.from("Grüße, naïve café ☕\n\ttabbed\r\n"),
      };
      for (const [contentType, bytes] of Object.entries(files)) {
        const { attachment } = await uploadAndProcess(cookie, {
          filename: `sample.${contentType.split("/")[1]}`,
          contentType,
          bytes,
        });
        expect({ contentType, status: attachment.status, reason: attachment.rejectReason }).toEqual(
          { contentType, status: "ready", reason: null },
        );
      }
    }));

  it("lists a note's attachments oldest first", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const first = await uploadAndProcess(cookie, A_PNG);
      const second = await uploadAndProcess(
        cookie,
        { filename: "b.txt", contentType: "text/plain", bytes: Buffer.from("hello\n") },
        first.noteID,
      );
      const listed = await (
        await client(cookie).api.notes[":id"].attachments.$get({ param: { id: first.noteID } })
      ).json();
      expect(listed.attachments.map((a) => [a.id, a.status])).toEqual([
        [first.attachment.id, "ready"],
        [second.attachment.id, "ready"],
      ]);
    }));

  it("deleting an attachment removes its row at once and its object through a task", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { attachment } = await uploadAndProcess(cookie, A_PNG);
      const key = keys(attachment.id).file;
      expect(await (await storage()).head(key)).toEqual({
        size: PNG.byteLength,
        contentType: "image/png",
      });
      const param = { id: attachment.id };
      expect((await client(cookie).api.attachments[":id"].$delete({ param })).status).toBe(204);
      expect((await client(cookie).api.attachments[":id"].$get({ param })).status).toBe(404);
      await drain(tasks);
      expect(await (await storage()).head(key)).toBeUndefined();
    }));

  it("deleting a note deletes its attachments and their objects", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const one = await uploadAndProcess(cookie, A_PNG);
      const two = await uploadAndProcess(
        cookie,
        { filename: "b.png", contentType: "image/png", bytes: PNG },
        one.noteID,
      );
      const { api } = client(cookie);
      expect((await api.notes[":id"].$delete({ param: { id: one.noteID } })).status).toBe(204);
      for (const id of [one.attachment.id, two.attachment.id]) {
        expect((await api.attachments[":id"].$get({ param: { id } })).status).toBe(404);
      }
      await drain(tasks);
      for (const id of [one.attachment.id, two.attachment.id]) {
        expect(await (await storage()).head(keys(id).file)).toBeUndefined();
      }
    }));

  it("a declared type with parameters (text/plain; charset=utf-8) is taken as the bare type", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { attachment } = await uploadAndProcess(cookie, {
        filename: "notes.txt",
        contentType: "Text/Plain; charset=UTF-8",
        bytes: Buffer.from("plain words\n"),
      });
      expect(attachment).toMatchObject({ contentType: "text/plain", status: "ready" });
    }));
});
