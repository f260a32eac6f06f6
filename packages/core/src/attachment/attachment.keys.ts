import { DEAD_LETTER_RETENTION_DAYS } from "../task/queue-policy";

/**
 * Where an attachment's bytes live in the bucket, shared with infra/storage.ts (its grants and
 * lifecycle rules name these prefixes). Plain data with no package imports: infra loads it inside
 * SST's config bundle.
 *
 * Browsers upload to `incoming/` (the only key an upload form can write); the check copies the
 * object to `files/` and reads that copy, which no form can reach, so a form replayed while it is
 * valid cannot swap the bytes after (or while) they are checked. Downloads are signed for `files/`.
 */
export const ATTACHMENTS_PREFIX = "attachments/";
export const INCOMING_PREFIX = `${ATTACHMENTS_PREFIX}incoming/`;
export const FILES_PREFIX = `${ATTACHMENTS_PREFIX}files/`;

export const keys = (id: string) => ({
  incoming: `${INCOMING_PREFIX}${id}`,
  file: `${FILES_PREFIX}${id}`,
});

/**
 * Uploads are deleted once checked; a stray one (a replayed form, a check never completed) expires
 * by a bucket lifecycle rule after as long as a dead-lettered check can still be redriven.
 */
export const STRAY_UPLOAD_EXPIRY_DAYS = DEAD_LETTER_RETENTION_DAYS;
