import { and, asc, count, eq, lt } from "drizzle-orm";
import { z } from "zod";
import { useUserID } from "../actor";
import { config } from "../config";
import { useTransaction } from "../db/transaction";
import { ConflictError, NotFoundError, ValidationError } from "../error";
import { createID } from "../id";
import { log } from "../log";
import { noteTable } from "../note/note.sql";
import { storage } from "../storage/storage";
import { enqueue } from "../task/task";
import { attachmentStatuses, attachmentTable } from "./attachment.sql";
import { inspect } from "./inspect";

/** An upload form is good for this long (the issue's 5 minutes). */
export const UPLOAD_EXPIRES_SECONDS = 5 * 60;
/** A download link is good for this long. */
export const DOWNLOAD_EXPIRES_SECONDS = 5 * 60;
/** Pending this long, it was abandoned: its upload form expired long ago. */
export const ABANDONED_AFTER_MINUTES = 60;
/** A note holds at most this many attachments. */
export const MAX_PER_NOTE = 20;

const AttachmentID = z
  .string()
  .regex(/^att_[0-9A-HJKMNP-TV-Z]{26}$/, { error: "is not an attachment id" });

export const CreateInput = z.strictObject({
  filename: z
    .string()
    .min(1, { error: "must not be empty" })
    .max(1000, { error: "must be at most 1000 characters" }),
  contentType: z
    .string()
    .min(1, { error: "must not be empty" })
    .max(255, { error: "must be at most 255 characters" }),
  size: z
    .number({ error: "must be a number of bytes" })
    .int({ error: "must be a whole number of bytes" })
    .min(1, { error: "must be at least 1 byte" }),
});
export type CreateInput = z.input<typeof CreateInput>;
export const IDParam = z.strictObject({ id: z.string() });

export const Info = z.object({
  id: z.string(),
  noteId: z.string(),
  filename: z.string(),
  contentType: z.string(),
  size: z.number(),
  status: z.enum(attachmentStatuses),
  sha256: z.string().nullable(),
  rejectReason: z.string().nullable(),
  createdAt: z.string(),
  processedAt: z.string().nullable(),
});
export type Info = z.infer<typeof Info>;

export const Upload = z.object({ url: z.string(), fields: z.record(z.string(), z.string()) });
export const Download = z.object({ url: z.string(), expiresAt: z.string() });

type Row = typeof attachmentTable.$inferSelect;

const toInfo = (row: Row): Info => ({
  id: row.id,
  noteId: row.noteId,
  filename: row.filename,
  contentType: row.contentType,
  size: row.size,
  status: row.status,
  sha256: row.sha256,
  rejectReason: row.rejectReason,
  createdAt: row.createdAt.toISOString(),
  processedAt: row.processedAt?.toISOString() ?? null,
});

/**
 * A filename fit to show: the last path segment, without control or bidi-override characters
 * (which can disguise `exe.png` as `png.exe`), whitespace collapsed, at most 255 code points.
 */
export function sanitizeFilename(raw: string): string {
  const base = raw.split(/[/\\]/).pop() ?? "";
  const clean = base
    .normalize("NFC")
    .replace(/\s+/gu, " ")
    .replace(/[\p{Cc}\p{Cf}]/gu, "")
    .trim();
  const limited = [...clean].slice(0, 255).join("").trim();
  return limited === "" || limited === "." || limited === ".." ? "file" : limited;
}

const mine = (id: string) =>
  and(eq(attachmentTable.id, id), eq(attachmentTable.userId, useUserID()));

async function ownNote(noteID: string) {
  const [note] = await useTransaction((tx) =>
    tx
      .select({ id: noteTable.id })
      .from(noteTable)
      .where(and(eq(noteTable.id, noteID), eq(noteTable.userId, useUserID()))),
  );
  if (!note) throw new NotFoundError("Note not found");
}

async function ownAttachment(id: string): Promise<Row> {
  if (!AttachmentID.safeParse(id).success) throw new NotFoundError("Attachment not found");
  const [row] = await useTransaction((tx) => tx.select().from(attachmentTable).where(mine(id)));
  if (!row) throw new NotFoundError("Attachment not found");
  return row;
}

/**
 * Records a pending attachment and signs a browser upload for it. The policy pins the key (made
 * from the id alone), the declared type and the exact declared size, for 5 minutes.
 */
export async function create(noteID: string, input: CreateInput) {
  const data = CreateInput.parse(input);
  const { maxBytes, allowedTypes } = config().attachments;
  const contentType = data.contentType.toLowerCase();
  const issues = [
    ...(allowedTypes.includes(contentType)
      ? []
      : [{ path: "contentType", message: `must be one of ${allowedTypes.join(", ")}` }]),
    ...(data.size <= maxBytes
      ? []
      : [{ path: "size", message: `must be at most ${maxBytes} bytes` }]),
  ];
  if (issues.length > 0) throw new ValidationError(issues);

  await ownNote(noteID);
  const id = createID("attachment");
  const row = await useTransaction(async (tx) => {
    // Serializes concurrent creates on the note, so the per-note cap holds.
    await tx
      .select({ id: noteTable.id })
      .from(noteTable)
      .where(eq(noteTable.id, noteID))
      .for("update");
    const [existing] = await tx
      .select({ n: count() })
      .from(attachmentTable)
      .where(eq(attachmentTable.noteId, noteID));
    if ((existing?.n ?? 0) >= MAX_PER_NOTE) {
      throw new ConflictError(`A note holds at most ${MAX_PER_NOTE} attachments`, {
        limit: MAX_PER_NOTE,
      });
    }
    const [inserted] = await tx
      .insert(attachmentTable)
      .values({
        id,
        noteId: noteID,
        userId: useUserID(),
        filename: sanitizeFilename(data.filename),
        contentType,
        size: data.size,
        objectKey: `attachments/${id}`,
      })
      .returning();
    return inserted;
  });
  if (!row) throw new Error("insert returned nothing");
  const upload = await (await storage()).presignUpload({
    key: row.objectKey,
    contentType,
    size: row.size,
    expiresSeconds: UPLOAD_EXPIRES_SECONDS,
  });
  return { attachment: toInfo(row), upload };
}

/**
 * The browser says its upload finished: check that the object is there and queue its inspection.
 * Calling it again is harmless (processing is idempotent); never calling it leaves the attachment
 * pending until maintenance.cleanup removes it.
 */
export async function complete(id: string): Promise<Info> {
  const row = await ownAttachment(id);
  if (row.status !== "pending") return toInfo(row);
  if (!(await (await storage()).head(row.objectKey))) {
    throw new ConflictError("The file has not been uploaded yet", { attachmentId: id });
  }
  const { processTask } = await import("./attachment.tasks");
  await enqueue(processTask, { attachmentId: id });
  return toInfo(row);
}

/** Metadata, and a short-lived download link once the file is ready. */
export async function fromID(id: string, now = new Date()) {
  const row = await ownAttachment(id);
  if (row.status !== "ready") return { attachment: toInfo(row), download: null };
  const url = await (await storage()).presignDownload({
    key: row.objectKey,
    filename: row.filename,
    contentType: row.contentType,
    expiresSeconds: DOWNLOAD_EXPIRES_SECONDS,
  });
  const expiresAt = new Date(now.getTime() + DOWNLOAD_EXPIRES_SECONDS * 1000).toISOString();
  return { attachment: toInfo(row), download: { url, expiresAt } };
}

/** A note's attachments, oldest first. */
export async function list(noteID: string): Promise<Info[]> {
  await ownNote(noteID);
  const rows = await useTransaction((tx) =>
    tx
      .select()
      .from(attachmentTable)
      .where(and(eq(attachmentTable.noteId, noteID), eq(attachmentTable.userId, useUserID())))
      .orderBy(asc(attachmentTable.id)),
  );
  return rows.map(toInfo);
}

/** Queues the deletion of objects in the caller's transaction: gone with the rows, or not at all. */
async function deleteObjects(keys: string[]) {
  if (keys.length === 0) return;
  const { deleteObjectTask } = await import("./attachment.tasks");
  for (const key of keys) await enqueue(deleteObjectTask, { key });
}

export async function remove(id: string): Promise<void> {
  if (!AttachmentID.safeParse(id).success) throw new NotFoundError("Attachment not found");
  await useTransaction(async (tx) => {
    const deleted = await tx
      .delete(attachmentTable)
      .where(mine(id))
      .returning({ key: attachmentTable.objectKey });
    if (deleted.length === 0) throw new NotFoundError("Attachment not found");
    await deleteObjects(deleted.map((row) => row.key));
  });
}

/** Note.remove calls this in its transaction: the note's attachments go, their objects follow. */
export async function removeForNote(noteID: string): Promise<number> {
  return useTransaction(async (tx) => {
    const deleted = await tx
      .delete(attachmentTable)
      .where(eq(attachmentTable.noteId, noteID))
      .returning({ key: attachmentTable.objectKey });
    await deleteObjects(deleted.map((row) => row.key));
    return deleted.length;
  });
}

/**
 * The `attachments.process` task: reads the uploaded object, and marks the attachment ready (with
 * its sha256) when its real size and type match what was declared, else rejected, and then its
 * object is deleted. Runs once in effect: only a pending attachment changes, in one conditional
 * update, so a second run (or a concurrent one) finds nothing to do.
 */
export async function processUpload(attachmentID: string): Promise<void> {
  const [row] = await useTransaction((tx) =>
    tx.select().from(attachmentTable).where(eq(attachmentTable.id, attachmentID)),
  );
  if (row?.status !== "pending") return;
  const body = await (await storage()).read(row.objectKey);
  if (!body) {
    // `complete` checked it was there; it may have been deleted since. Left for cleanup.
    log.warn("attachment object missing", { attachmentId: row.id });
    return;
  }
  const found = await inspect(body, row.size);
  const reason =
    found.size !== row.size
      ? `The file has ${found.size} bytes, not the ${row.size} declared`
      : found.detectedType !== row.contentType
        ? `The file's content is ${found.detectedType ?? "of an unknown type"}, not ${row.contentType}`
        : null;
  await useTransaction(async (tx) => {
    const updated = await tx
      .update(attachmentTable)
      .set({
        status: reason ? "rejected" : "ready",
        sha256: reason ? null : found.sha256,
        rejectReason: reason,
        processedAt: new Date(),
      })
      .where(and(eq(attachmentTable.id, row.id), eq(attachmentTable.status, "pending")))
      .returning({ key: attachmentTable.objectKey });
    if (reason) await deleteObjects(updated.map((r) => r.key));
  });
  log.info("attachment processed", {
    attachmentId: row.id,
    status: reason ? "rejected" : "ready",
  });
}

/** Pending attachments whose upload was never completed: removed, with any object they left. */
export async function deleteAbandoned(now = new Date()): Promise<number> {
  const before = new Date(now.getTime() - ABANDONED_AFTER_MINUTES * 60_000);
  return useTransaction(async (tx) => {
    const deleted = await tx
      .delete(attachmentTable)
      .where(and(eq(attachmentTable.status, "pending"), lt(attachmentTable.createdAt, before)))
      .returning({ key: attachmentTable.objectKey });
    await deleteObjects(deleted.map((row) => row.key));
    return deleted.length;
  });
}

/** The `attachments.deleteObject` task: deleting a missing object succeeds, so retries are safe. */
export async function deleteObject(key: string): Promise<void> {
  await (await storage()).delete(key);
}
