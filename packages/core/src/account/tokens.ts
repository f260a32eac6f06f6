import { hash, randomBytes } from "node:crypto";
import { and, eq, gt, ne } from "drizzle-orm";
import * as z from "zod";
import { config } from "../config";
import { createTransaction, useTransaction } from "../db/transaction";
import { idSchema } from "../id";
import { Mail } from "../mail";
import { render } from "../mail/template";
import { defineTask, type TaskContext } from "../task/task";
import { type AccountTokenPurpose, accountTokenTable, userTable } from "./account.sql";

// Apart from account.ts, as expiry.ts is: the worker writes these mails, and must not take in
// password hashing (its native addon cannot go in the Lambda bundle).

/** How long each kind of token works after it was mailed. */
export const TOKEN_TTL_HOURS = {
  verify_email: 24,
  reset_password: 1,
  change_email: 24,
} as const satisfies Record<AccountTokenPurpose, number>;

/** The site's page each token's link opens (the web app reads `#token=` and calls the API). */
const PAGES = {
  verify_email: "/verify-email",
  reset_password: "/reset-password",
  change_email: "/confirm-email",
} as const satisfies Record<AccountTokenPurpose, string>;

export const hashToken = (token: string) => hash("sha256", token, "hex");
const hours = (n: number) => n * 3_600_000;

/**
 * The link a mail carries: the site's page with the token in its fragment, which a browser never
 * sends to a server: not in CloudFront's or the router's access logs, not in a Referer. The page
 * reads it from `location.hash` and posts it to the API.
 */
export function tokenLink(purpose: AccountTokenPurpose, token: string): string {
  return `${config().siteURL}${PAGES[purpose]}#token=${encodeURIComponent(token)}`;
}

/**
 * A new token of `purpose` for the user and address, in the caller's transaction: 32 random bytes
 * (base64url), of which only the SHA-256 is stored. Any earlier token of the same purpose for the
 * user is deleted: only the newest mail's link works.
 */
export async function issueToken(
  userID: string,
  purpose: AccountTokenPurpose,
  email: string,
  now = new Date(),
): Promise<string> {
  const token = randomBytes(32).toString("base64url");
  await useTransaction(async (tx) => {
    await tx
      .delete(accountTokenTable)
      .where(and(eq(accountTokenTable.userId, userID), eq(accountTokenTable.purpose, purpose)));
    await tx.insert(accountTokenTable).values({
      tokenHash: hashToken(token),
      userId: userID,
      purpose,
      email,
      createdAt: now,
      expiresAt: new Date(now.getTime() + hours(TOKEN_TTL_HOURS[purpose])),
    });
  });
  return token;
}

/**
 * The live token of `purpose`, locked until the caller's transaction ends, or undefined. Looked up
 * by the SHA-256 of what was presented: the comparison the database makes is between hashes, so
 * its timing says nothing about the stored token (a guess would have to match a hash prefix).
 */
export async function findToken(purpose: AccountTokenPurpose, token: string, now = new Date()) {
  const [row] = await useTransaction((tx) =>
    tx
      .select()
      .from(accountTokenTable)
      .where(
        and(
          eq(accountTokenTable.tokenHash, hashToken(token)),
          eq(accountTokenTable.purpose, purpose),
          gt(accountTokenTable.expiresAt, now),
        ),
      )
      .for("update"),
  );
  return row;
}

/** Uses the token up: deleted, so a second use finds nothing. */
export async function spendToken(tokenHash: string): Promise<void> {
  await useTransaction((tx) =>
    tx.delete(accountTokenTable).where(eq(accountTokenTable.tokenHash, tokenHash)),
  );
}

/** Every token of the user (a password changed, an address changed), or of one purpose. */
export async function dropTokens(userID: string, purpose?: AccountTokenPurpose): Promise<void> {
  await useTransaction((tx) =>
    tx
      .delete(accountTokenTable)
      .where(
        and(
          eq(accountTokenTable.userId, userID),
          purpose ? eq(accountTokenTable.purpose, purpose) : undefined,
        ),
      ),
  );
}

// The mails: queued by the API as tasks (after its commit) that carry only a reference (the user's
// id or the address asked about, and the purpose in the task's name), never a token. The worker
// issues the token and hands the mail to the provider directly (Mail.sendNow) in one task step, so
// the raw token is in no outbox row, queue message or step record: only in the mail that leaves
// (and offline in the dev mailbox, which is that mail).

/** Mails a verification link to the user's current address, unless it is verified. */
export const sendVerificationTask = defineTask(
  "account.sendVerification",
  z.strictObject({ userId: idSchema("user") }),
);
/** Mails a reset link if an account has this address; nothing otherwise (no one is told which). */
export const sendPasswordResetTask = defineTask(
  "account.sendPasswordReset",
  z.strictObject({ email: z.email() }),
);
/** Mails a confirmation link to the new address, and a notice to the old one (always). */
export const sendEmailChangeTask = defineTask(
  "account.sendEmailChange",
  z.strictObject({ userId: idSchema("user"), newEmail: z.email() }),
);

type Outcome = "sent" | "skipped" | "already sent";

/**
 * Issues a token and sends its mail, once per task: the task's step `mail:<part>` runs `write`
 * (in a transaction of its own: lock the user, issue the token, which deletes the older ones of
 * its purpose) and commits, then hands the mail to the provider, and records only "sent" or
 * "skipped". A delivery that finds the step recorded does nothing, so the token the first run
 * mailed stays the live one. A run that fails after the token committed (the provider down) or
 * a crash before the record commits runs again: a new token, which deletes the one before, and a
 * new mail; the older mail's link, if one went, stops working (only the newest works).
 */
async function mailWithToken(
  task: Pick<TaskContext, "id" | "step">,
  part: string,
  write: () => Promise<Mail.Message | undefined>,
): Promise<Outcome> {
  let ran = false;
  const outcome = await task.step(`mail:${part}`, async () => {
    ran = true;
    const message = await createTransaction(write);
    if (!message) return "skipped";
    await Mail.sendNow(message, `${task.id}:${part}`);
    return "sent";
  });
  return ran ? outcome : "already sent";
}

async function addressTaken(email: string, exceptUserID: string) {
  const [row] = await useTransaction((tx) =>
    tx
      .select({ id: userTable.id })
      .from(userTable)
      .where(and(eq(userTable.email, email), ne(userTable.id, exceptUserID))),
  );
  return row !== undefined;
}

async function userByID(userID: string) {
  const [user] = await useTransaction((tx) =>
    tx.select().from(userTable).where(eq(userTable.id, userID)).for("update"),
  );
  return user;
}

export async function sendVerification(
  { userId }: { userId: string },
  task: Pick<TaskContext, "id" | "step">,
  now = new Date(),
) {
  return mailWithToken(task, "verify", async () => {
    const user = await userByID(userId);
    if (!user || user.emailVerifiedAt) return undefined;
    const token = await issueToken(user.id, "verify_email", user.email, now);
    return render({
      to: user.email,
      subject: "Confirm your email address",
      // No name in mail to an address not yet proved: whoever signed up chose it, and it would
      // be free text from us to a stranger ("Hello Visit evil.example…").
      greeting: "Hello,",
      paragraphs: [
        "Confirm that this is your email address to finish setting up your Slipway account.",
        `The link works once, for ${TOKEN_TTL_HOURS.verify_email} hours.`,
      ],
      action: { label: "Confirm my email", url: tokenLink("verify_email", token) },
      footer: "If you did not create this account, ignore this mail.",
    });
  });
}

export async function sendPasswordReset(
  { email }: { email: string },
  task: Pick<TaskContext, "id" | "step">,
  now = new Date(),
) {
  return mailWithToken(task, "reset", async () => {
    const [user] = await useTransaction((tx) =>
      tx.select().from(userTable).where(eq(userTable.email, email)).for("update"),
    );
    if (!user) return undefined;
    const token = await issueToken(user.id, "reset_password", user.email, now);
    return render({
      to: user.email,
      subject: "Reset your password",
      greeting: user.emailVerifiedAt ? `Hello ${user.name},` : "Hello,",
      paragraphs: [
        "Someone asked to reset the password of your Slipway account. Choose a new one with the link below; it signs you out everywhere else.",
        `The link works once, for ${TOKEN_TTL_HOURS.reset_password} hour.`,
      ],
      action: { label: "Choose a new password", url: tokenLink("reset_password", token) },
      footer: "If it was not you, ignore this mail: your password stays as it is.",
    });
  });
}

export async function sendEmailChange(
  { userId, newEmail }: { userId: string; newEmail: string },
  task: Pick<TaskContext, "id" | "step">,
  now = new Date(),
) {
  const outcome = await mailWithToken(task, "new", async () => {
    const user = await userByID(userId);
    if (!user || user.email === newEmail) return undefined;
    // Another account has it: no link (the confirm would be a 409), and the request's 202 said
    // nothing either way. The owner of that address gets no mail from a stranger's request.
    if (await addressTaken(newEmail, user.id)) return undefined;
    const token = await issueToken(user.id, "change_email", newEmail, now);
    return render({
      to: newEmail,
      subject: "Confirm your new email address",
      greeting: "Hello,",
      paragraphs: [
        `Confirm that this address should replace ${user.email} on your Slipway account.`,
        `The link works once, for ${TOKEN_TTL_HOURS.change_email} hours; until then nothing changes.`,
      ],
      action: { label: "Use this address", url: tokenLink("change_email", token) },
      footer: "If you did not ask for this, ignore this mail.",
    });
  });
  // The notice carries no token: it goes through the outbox (mail.deliver), once per task by its
  // dedup key. Always, verified or not: a security notice is the one mail an unverified address
  // must get (every account from before verification existed is unverified). The new address is
  // masked: the old mailbox may no longer be the owner's.
  await createTransaction(async () => {
    const user = await userByID(userId);
    if (!user || user.email === newEmail) return;
    await Mail.send(
      render({
        to: user.email,
        subject: "Your email address is being changed",
        greeting: "Hello,",
        paragraphs: [
          `Someone signed in to your Slipway account asked to move it to ${maskEmail(newEmail)}. It changes only when that address confirms.`,
          "If this was not you, change your password now: that cancels the change and signs out every other device.",
        ],
        action: { label: "Open Slipway", url: config().siteURL },
      }),
      { dedupKey: `account:${task.id}:old` },
    );
  });
  return outcome;
}

/**
 * An address with its local part hidden but its first character (`n***@example.com`): enough for
 * the owner to recognise, not enough to hand a stranger reading the old mailbox the new one.
 */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  return `${email.slice(0, Math.min(1, at))}***${email.slice(at)}`;
}

/**
 * The second notice to the old address, once the change took effect (queued in the confirm's
 * transaction): the owner learns of it even if they missed the first.
 */
export function emailChangedNotice(oldEmail: string, newEmail: string) {
  return render({
    to: oldEmail,
    subject: "Your email address was changed",
    greeting: "Hello,",
    paragraphs: [
      `Your Slipway account now uses ${maskEmail(newEmail)}; this address no longer signs in.`,
      "If this was not you, someone has your password: contact us from this address at once.",
    ],
    action: { label: "Open Slipway", url: config().siteURL },
  });
}
