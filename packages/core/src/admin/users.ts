import * as z from "zod";
import * as Account from "../account/account";
import { createTransaction } from "../db/transaction";
import { idSchema } from "../id";
import * as Audit from "./audit";

/**
 * The users view of the console: the account module's functions (it owns the tables), each
 * action recorded in the audit log in the same transaction.
 */

export const IDParam = z.strictObject({ id: idSchema("user") });
export const { OperatorInfo: Info, OperatorListInput: ListInput } = Account;

export const list = (input: Account.OperatorListInput) => Account.listForOperator(input);

export const get = (userID: string) => Account.forOperator(userID);

/** Ends every session of the user: their next request is a 401. */
export async function revokeSessions(userID: string) {
  return createTransaction(async () => {
    const revoked = await Account.revokeAllSessions(userID);
    await Audit.record({ action: "user.revoke-sessions", target: userID, details: { revoked } });
    return { revoked };
  });
}

/** The user cannot sign in, and their sessions end. */
export async function disable(userID: string) {
  return createTransaction(async () => {
    const { changed, sessionsRevoked } = await Account.disable(userID);
    await Audit.record({
      action: "user.disable",
      target: userID,
      details: { changed, sessionsRevoked },
    });
    return { changed, sessionsRevoked };
  });
}

export async function enable(userID: string) {
  return createTransaction(async () => {
    const { changed } = await Account.enable(userID);
    await Audit.record({ action: "user.enable", target: userID, details: { changed } });
    return { changed };
  });
}

/**
 * Grants or revokes the admin role by email (`npm run users`, under `Audit.as` for its
 * `cli:<os user>`); an unknown email is a 404 naming it. Returns the role before and after.
 */
export async function setRole(email: string, role: Account.Info["role"]) {
  return createTransaction(async () => {
    const user = await Account.byEmail(email);
    const before = await Account.setRole(user.id, role);
    await Audit.record({
      action: role === "admin" ? "user.grant-admin" : "user.revoke-admin",
      target: user.id,
      details: { email: user.email, before, after: role },
    });
    return { userID: user.id, email: user.email, before, after: role };
  });
}
