import { userInfo } from "node:os";
import * as Audit from "./audit";
import * as Users from "./users";

/**
 * `npm run users -- grant-admin <email> | revoke-admin <email>` (scripts/users.ts connects, this
 * does the work): each role change is recorded in the audit log as `cli:<os user>`. Refusals
 * (unknown command, unknown email) throw with the message the CLI prints before exiting 1.
 */

export const USAGE = "usage: npm run users -- grant-admin <email> | revoke-admin <email>";

/** `cli:<the OS account running it>`, or `cli:unknown` where the OS names none. */
export function cliActor(): Audit.AuditActor {
  let name: string;
  try {
    name = userInfo().username || "unknown";
  } catch {
    name = process.env.USER ?? "unknown";
  }
  return { userID: null, label: `cli:${name}` };
}

export async function usersCommand(
  args: readonly string[],
  actor: Audit.AuditActor = cliActor(),
): Promise<string> {
  const [command, email, ...rest] = args;
  if (rest.length > 0 || !email || (command !== "grant-admin" && command !== "revoke-admin")) {
    throw new Error(USAGE);
  }
  const role = command === "grant-admin" ? "admin" : "member";
  const result = await Audit.as(actor, () => Users.setRole(email, role));
  return result.before === result.after
    ? `${result.email} is ${result.after === "admin" ? "an admin" : "a member"} already (recorded anyway)`
    : `${result.email}: ${result.before} → ${result.after}`;
}
