import { and, asc, count, desc, eq, getTableColumns, inArray, lt, ne, sql } from "drizzle-orm";
import * as z from "zod";
import { useUserID } from "../actor";
import { config } from "../config";
import { beyond, cursorTime, decodeCursor, pageOf } from "../db/cursor";
import { createTransaction, useTransaction } from "../db/transaction";
import { AppError, ConflictError, NotFoundError, ValidationError } from "../error";
import { createID, idSchema } from "../id";
import { Limit } from "../limit";
import { noteTable } from "../note/note.sql";
import { storage } from "../storage/storage";
import { defineTask, enqueue } from "../task/task";
import { keys } from "./attachment.keys";
import { attachmentStatuses, attachmentTable } from "./attachment.sql";

/** An upload form is good for this long: enough to start an upload, too short to share. */
export const UPLOAD_EXPIRES_SECONDS = 5 * 60;
/** A download link is good for this long. */
export const DOWNLOAD_EXPIRES_SECONDS = 5 * 60;
/** Pending this long, it was abandoned: its upload form expired long ago. */
export const ABANDONED_AFTER_MINUTES = 60;
/** A note holds at most this many attachments. */
export const MAX_PER_NOTE = 20;

/** `Text/Plain; charset=utf-8` → `text/plain`: browsers may add parameters. */
const bareType = (type: string) => (type.split(";")[0] ?? "").trim().toLowerCase();
const AttachmentID = idSchema("attachment");

/** The contracts of this module's tasks; their handlers are in attachment.tasks.ts. */
export const TaskPayload = z.strictObject({ attachmentId: AttachmentID });
/** Checks an uploaded file and makes it ready or rejected (attachment.worker.ts). */
export const processTask = defineTask("attachments.process", TaskPayload);
/** Deletes an attachment's objects (its upload and its checked file); keys derive from the id. */
export const deleteObjectsTask = defineTask("attachments.deleteObjects", TaskPayload);

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
    // Zero-width (non-)joiners stay: emoji sequences and several scripts need them.
    .replace(/(?![\u200c\u200d])[\p{Cc}\p{Cf}]/gu, "")
    .replace(/ {2,}/g, " ")
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
 * Bytes a user's attachments hold against QUOTA_ATTACHMENT_BYTES_PER_USER: pending and uploaded
 * ones by their declared size (reserved until checked or abandoned), ready ones by their real
 * size (the check rejects a file whose bytes differ from the declaration, so the two agree).
 * Rejected ones hold none: their objects are deleted. Through the user's notes, whose index
 * (note_user_id) and attachment_note find them without a scan.
 */
export async function bytesHeld(userID: string): Promise<number> {
  const [row] = await useTransaction((tx) =>
    tx
      .select({ bytes: sql<string | null>`sum(${attachmentTable.size})` })
      .from(attachmentTable)
      .innerJoin(noteTable, eq(noteTable.id, attachmentTable.noteId))
      .where(
        and(
          eq(noteTable.userId, userID),
          eq(attachmentTable.userId, userID),
          ne(attachmentTable.status, "rejected"),
        ),
      ),
  );
  return Number(row?.bytes ?? 0);
}

/**
 * Records a pending attachment and signs a browser upload for it. The policy pins the key (made
 * from the id alone), the declared type and the exact declared size, for 5 minutes. A size
 * that would take the user past their bytes quota is a 413 storage_quota_exceeded.
 */
export async function create(noteID: string, input: CreateInput) {
  const userID = useUserID();
  const data = CreateInput.parse(input);
  const { maxBytes, allowedTypes } = config().attachments;
  const contentType = bareType(data.contentType);
  const issues = [
    ...(allowedTypes.includes(contentType)
      ? []
      : [
          {
            path: "contentType",
            message: `must be one of ${allowedTypes.join(", ")}`,
            allowed: allowedTypes,
          },
        ]),
    ...(data.size <= maxBytes
      ? []
      : [{ path: "size", message: `must be at most ${maxBytes} bytes`, limitBytes: maxBytes }]),
  ];
  if (issues.length > 0) throw new ValidationError(issues);

  const id = createID("attachment");
  const quota = config().quotas.attachmentBytesPerUser;
  const row = await createTransaction(async (tx) => {
    // The user's quota lock first (the order every quota check takes): creates on any of their
    // notes queue here, so two uploads cannot both fit in the same free bytes.
    await Limit.lock(Limit.quotaLock(userID));
    // Locks the note: concurrent creates on it queue here, so the cap holds, and a note deleted
    // meanwhile is a 404 rather than a foreign-key error.
    const [note] = await tx
      .select({ id: noteTable.id })
      .from(noteTable)
      .where(and(eq(noteTable.id, noteID), eq(noteTable.userId, userID)))
      .for("update");
    if (!note) throw new NotFoundError("Note not found");
    // Rejected files stay listed (with their reason) until removed, but take no place.
    const [existing] = await tx
      .select({ n: count() })
      .from(attachmentTable)
      .where(and(eq(attachmentTable.noteId, noteID), ne(attachmentTable.status, "rejected")));
    if ((existing?.n ?? 0) >= MAX_PER_NOTE) {
      throw new ConflictError(`A note holds at most ${MAX_PER_NOTE} attachments`, {
        limit: MAX_PER_NOTE,
      });
    }
    const usedBytes = await bytesHeld(userID);
    if (usedBytes + data.size > quota) {
      throw new AppError(
        "storage_quota_exceeded",
        `This file (${data.size} bytes) does not fit: your attachments use ${usedBytes} of the ${quota} bytes an account may hold; delete some to make room`,
        { limitBytes: quota, usedBytes },
      );
    }
    const [inserted] = await tx
      .insert(attachmentTable)
      .values({
        id,
        noteId: noteID,
        userId: userID,
        filename: sanitizeFilename(data.filename),
        contentType,
        size: data.size,
      })
      .returning();
    return inserted;
  });
  if (!row) throw new Error("insert returned nothing");
  const upload = await (await storage()).presignUpload({
    key: keys(id).incoming,
    contentType,
    size: row.size,
    expiresSeconds: UPLOAD_EXPIRES_SECONDS,
  });
  return { attachment: toInfo(row), upload };
}

/**
 * The browser says its upload finished: check that the object is there, mark the attachment
 * uploaded and queue its check, in one transaction. Calling it again is harmless (the check is
 * idempotent); never calling it leaves the attachment pending until maintenance.cleanup.
 */
export async function complete(id: string): Promise<Info> {
  const row = await ownAttachment(id);
  if (row.status === "ready" || row.status === "rejected") return toInfo(row);
  if (!(await (await storage()).head(keys(id).incoming))) {
    throw new ConflictError("The file has not been uploaded yet", { attachmentId: id });
  }
  return createTransaction(async (tx) => {
    const [updated] = await tx
      .update(attachmentTable)
      .set({ status: "uploaded" })
      .where(and(mine(id), inArray(attachmentTable.status, ["pending", "uploaded"])))
      .returning();
    if (!updated) return toInfo(await ownAttachment(id));
    await enqueue(processTask, { attachmentId: id });
    return toInfo(updated);
  });
}

/** Metadata, and a short-lived download link once the file is ready. */
export async function fromID(id: string, now = new Date()) {
  const row = await ownAttachment(id);
  if (row.status !== "ready") return { attachment: toInfo(row), download: null };
  const url = await (await storage()).presignDownload({
    key: keys(row.id).file,
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

export const Status = z.enum(attachmentStatuses);
export type Status = z.infer<typeof Status>;

/**
 * Every user's attachments, newest first, optionally of one status (a rejected upload and its
 * reason): for the operator console, which checks the caller is an admin. Keyset pages.
 */
export async function recent(options: { status?: Status; limit: number; cursor?: string }) {
  const after = options.cursor ? decodeCursor(options.cursor) : undefined;
  const t = attachmentTable;
  const rows = await useTransaction((tx) =>
    tx
      .select({ ...getTableColumns(t), cursorAt: cursorTime(t.createdAt) })
      .from(t)
      .where(
        and(
          options.status ? eq(t.status, options.status) : undefined,
          after ? beyond(t.createdAt, t.id, after, "desc") : undefined,
        ),
      )
      .orderBy(desc(t.createdAt), desc(t.id))
      .limit(options.limit + 1),
  );
  const page = pageOf(rows, options.limit, (row) => ({ at: row.cursorAt, id: row.id }));
  return {
    attachments: page.rows.map((row) => ({
      id: row.id,
      noteId: row.noteId,
      userId: row.userId,
      filename: row.filename,
      contentType: row.contentType,
      size: row.size,
      status: row.status,
      rejectReason: row.rejectReason,
      createdAt: row.createdAt.toISOString(),
      processedAt: row.processedAt?.toISOString() ?? null,
    })),
    nextCursor: page.nextCursor,
  };
}

/** Queues the deletion of attachments' objects in the caller's transaction: with the rows, or not at all. */
export async function deleteObjects(ids: string[]) {
  for (const attachmentId of ids) await enqueue(deleteObjectsTask, { attachmentId });
}

export async function remove(id: string): Promise<void> {
  if (!AttachmentID.safeParse(id).success) throw new NotFoundError("Attachment not found");
  const owned = mine(id);
  await createTransaction(async (tx) => {
    const deleted = await tx
      .delete(attachmentTable)
      .where(owned)
      .returning({ id: attachmentTable.id });
    if (deleted.length === 0) throw new NotFoundError("Attachment not found");
    await deleteObjects(deleted.map((row) => row.id));
  });
}

/** Note.remove calls this in its transaction: the note's attachments go, their objects follow. */
export async function removeForNote(noteID: string): Promise<number> {
  return createTransaction(async (tx) => {
    const deleted = await tx
      .delete(attachmentTable)
      .where(eq(attachmentTable.noteId, noteID))
      .returning({ id: attachmentTable.id });
    await deleteObjects(deleted.map((row) => row.id));
    return deleted.length;
  });
}

/**
 * Attachments whose upload was never completed (pending for an hour: their forms expired long
 * ago) are removed, with any object they left. Completed ones are never removed here, even if
 * their check is failing: those wait in the task queue (and its dead letters) for a retry.
 */
export async function deleteAbandoned(now = new Date()): Promise<number> {
  const before = new Date(now.getTime() - ABANDONED_AFTER_MINUTES * 60_000);
  return createTransaction(async (tx) => {
    const deleted = await tx
      .delete(attachmentTable)
      .where(and(eq(attachmentTable.status, "pending"), lt(attachmentTable.createdAt, before)))
      .returning({ id: attachmentTable.id });
    await deleteObjects(deleted.map((row) => row.id));
    return deleted.length;
  });
}

/**
 * A deleted account's attachments, in the caller's transaction: the rows go, their objects are
 * deleted by tasks queued with them (retried until done, as for a note).
 */
export async function removeForUser(userID: string): Promise<number> {
  return createTransaction(async (tx) => {
    const deleted = await tx
      .delete(attachmentTable)
      .where(eq(attachmentTable.userId, userID))
      .returning({ id: attachmentTable.id });
    await deleteObjects(deleted.map((row) => row.id));
    return deleted.length;
  });
}
