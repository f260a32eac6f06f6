import { and, eq } from "drizzle-orm";
import { createTransaction, useTransaction } from "../db/transaction";
import { log } from "../log";
import { storage } from "../storage/storage";
import { deleteObjects } from "./attachment";
import { keys } from "./attachment.keys";
import { attachmentTable } from "./attachment.sql";
import type { Inspection } from "./inspect";

/**
 * What the worker does with attachments: check an upload (`attachments.process`) and delete an
 * attachment's objects (`attachments.deleteObjects`). The request side is in attachment.ts.
 */

/** Types the bytes can show for a declared type (file-type says APNG where browsers say PNG). */
const SAME_TYPE: Record<string, string[]> = { "image/png": ["image/png", "image/apng"] };

/**
 * Why a file is rejected, or null when its bytes match what was declared. `found` is undefined
 * when there was nothing left to read: the upload outlived its retention before it was checked.
 */
export function rejectReason(
  declared: { size: number; contentType: string },
  found: Inspection | undefined,
): string | null {
  if (!found) return "The upload expired before it could be checked";
  if (found.size !== declared.size) {
    return `The file has ${found.size} bytes, not the ${declared.size} declared`;
  }
  const expected = SAME_TYPE[declared.contentType] ?? [declared.contentType];
  if (!found.detectedType || !expected.includes(found.detectedType)) {
    return `The file's content is ${found.detectedType ?? "of an unknown type"}, not ${declared.contentType}`;
  }
  return null;
}

/**
 * The `attachments.process` task. Copies the upload to the attachment's file key (which no upload
 * form can write) and reads that copy once: when its real size and type match the declaration it
 * becomes ready, with its sha256; else rejected, and its objects are deleted. Runs once in
 * effect: only an uploaded attachment changes, in one conditional update, so a second run (or a
 * concurrent one) finds nothing to do but the upload's deletion. No transaction is open during
 * the storage calls; the verdict and the deletion task it queues commit together.
 */
export async function processUpload(attachmentID: string): Promise<void> {
  const [row] = await useTransaction(async (tx) =>
    tx.select().from(attachmentTable).where(eq(attachmentTable.id, attachmentID)),
  );
  if (!row) return;
  const store = await storage();
  const { incoming, file } = keys(row.id);
  // Ready, and delivered again: the run that made it ready may have died before deleting the
  // upload (the verdict commits on its own, before that delete). Deleting a missing object succeeds.
  if (row.status === "ready") return store.delete(incoming);
  if (row.status !== "uploaded") return;
  // A retry after a copy that succeeded keeps that copy: it is what was checked, or will be (the
  // file key is written only here, and a copy lands whole or not at all).
  if (!(await store.head(file)) && (await store.head(incoming))) await store.copy(incoming, file);
  const body = await store.read(file);
  // Loaded here, not at the worker's cold start: file-type and its readers are ~70 KB that only
  // this task reads (ADR 022).
  const found = body ? await (await import("./inspect")).inspect(body, row.size) : undefined;
  const reason = rejectReason(row, found);
  const changed = await createTransaction(async (tx) => {
    const updated = await tx
      .update(attachmentTable)
      .set({
        status: reason ? "rejected" : "ready",
        sha256: reason ? null : (found?.sha256 ?? null),
        rejectReason: reason,
        processedAt: new Date(),
      })
      .where(and(eq(attachmentTable.id, row.id), eq(attachmentTable.status, "uploaded")))
      .returning({ id: attachmentTable.id });
    // Rejected: both objects go. Ready: the upload is no longer needed.
    if (reason) await deleteObjects(updated.map((r) => r.id));
    return updated.length > 0;
  });
  if (!changed) return;
  if (!reason) await store.delete(incoming);
  log.info("attachment processed", { attachmentId: row.id, status: reason ? "rejected" : "ready" });
}

/** The `attachments.deleteObjects` task: deleting a missing object succeeds, so retries are safe. */
export async function deleteObjectsOf(attachmentID: string): Promise<void> {
  const store = await storage();
  const { incoming, file } = keys(attachmentID);
  await store.delete(incoming);
  await store.delete(file);
}
