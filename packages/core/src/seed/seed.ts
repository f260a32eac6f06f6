import { eq } from "drizzle-orm";
import { Account } from "../account";
import { userTable } from "../account/account.sql";
import { withActor } from "../actor";
import { Attachment } from "../attachment";
import { keys } from "../attachment/attachment.keys";
import { processUpload } from "../attachment/attachment.worker";
import type { Config } from "../config";
import { createTransaction, useTransaction } from "../db/transaction";
import { ConflictError } from "../error";
import { isLoopback } from "../http/client-address";
import { Note } from "../note";
import { storage } from "../storage/storage";
import { DEMO_ATTACHMENT, DEMO_LOGIN, DEMO_NOTES } from "./demo";

/**
 * The demo data of a development database: an account anyone can sign in with, a dozen notes and
 * a checked attachment. Written through the modules' own functions (sign-up, Note.create, the
 * attachment's upload, completion and check), never as rows, so it is always data the app could
 * have made, and a rule a module adds applies to the seed too.
 */

export interface SeedResult {
  /** False when the demo account was there already: nothing was written. */
  created: boolean;
  email: string;
  password: string;
  notes: number;
  attachments: number;
}

/** Hosts of a DATABASE_URL that are this machine. */
const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

/**
 * Why the seed must not run against this configuration, or undefined when it may. It writes an
 * account whose password is in the repository, so it runs only on a database of this machine:
 * the embedded one (PGLITE_DIR) or a Postgres on loopback. A process linked to a deployed stage
 * (SST `Resource`: `sst shell`, a deployed function) is refused whatever its URL says, and any
 * other host is refused: nothing in a URL tells a colleague's scratch server from a stage's.
 */
export function seedRefusal(settings: Config): string | undefined {
  const why = "the seed writes a demo account whose password is published in the repository";
  if (settings.deployed) {
    return `Refusing to seed: this process is linked to the deployed stage "${settings.stage}" (SST Resource links), and ${why}.`;
  }
  if (settings.database.kind === "pglite") return undefined;
  const host = new URL(settings.database.url).hostname;
  if (LOOPBACK_NAMES.has(host) || isLoopback(host)) return undefined;
  return `Refusing to seed: DATABASE_URL points at ${host || "no host"}, not this machine, and ${why}. It runs only on the embedded database (unset DATABASE_URL) or a Postgres on localhost, 127.0.0.1 or ::1.`;
}

const demoExists = async () =>
  (
    await useTransaction((tx) =>
      tx.select({ id: userTable.id }).from(userTable).where(eq(userTable.email, DEMO_LOGIN.email)),
    )
  ).length > 0;

/**
 * Writes the demo data unless the demo account exists: running it again changes nothing. All of
 * it commits in one transaction, so it is there whole or not at all (a seed that died part-way
 * is simply run again). The upload is stored before that commit: a rolled-back seed leaves an
 * object no row names, which the store never serves.
 */
export async function seed(): Promise<SeedResult> {
  const result = (created: boolean): SeedResult => ({
    created,
    email: DEMO_LOGIN.email,
    password: DEMO_LOGIN.password,
    notes: DEMO_NOTES.length,
    attachments: 1,
  });
  if (await demoExists()) return result(false);
  // The storage adapter (the S3 SDK, ~100 ms to load) and the file check's readers load while the
  // password hashes on libuv's threads: a fresh `npm run dev` waits for the seed (ADR 027).
  // A failure shows where the attachment awaits them.
  storage().catch(() => {});
  import("../attachment/inspect").catch(() => {});
  try {
    await createTransaction(async () => {
      const { user } = await Account.signup(DEMO_LOGIN);
      await withActor({ type: "user", userID: user.id }, async () => {
        let newest: Note.Info | undefined;
        for (const note of DEMO_NOTES) newest = await Note.create(note);
        if (!newest) throw new Error("the demo data has no notes");
        await attach(newest.id);
      });
    });
  } catch (error) {
    // Another seed committed the account meanwhile: that one wrote it all.
    if (error instanceof ConflictError && (await demoExists())) return result(false);
    throw error;
  }
  return result(true);
}

/** What a browser's upload and the worker's check would do, in order, through the same functions. */
async function attach(noteID: string) {
  const bytes = new TextEncoder().encode(DEMO_ATTACHMENT.text);
  const { attachment } = await Attachment.create(noteID, {
    filename: DEMO_ATTACHMENT.filename,
    contentType: DEMO_ATTACHMENT.contentType,
    size: bytes.byteLength,
  });
  // Where the presigned form would have put it.
  await (await storage()).put(keys(attachment.id).incoming, bytes, DEMO_ATTACHMENT.contentType);
  await Attachment.complete(attachment.id);
  // The check itself, now rather than by the worker: the seed is whole when it returns, whether
  // or not a worker runs. The task `complete` queued finds it ready and does nothing.
  await processUpload(attachment.id);
}
