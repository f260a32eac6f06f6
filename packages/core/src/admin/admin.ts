import { createMiddleware } from "hono/factory";
import * as Account from "../account/account";
import { AppError } from "../error";
import * as Audit from "./audit";

/**
 * The one check of the operator console, mounted once on `/api/admin/*` (api.ts): signed out is a
 * 401, anything but a live admin a 403 `forbidden`; no admin handler checks again. The role is
 * read fresh here, not from the session cache, so `revoke-admin` (or disabling the account)
 * takes effect on the next request in every process. The request then runs as that admin for
 * the audit log (audit.ts).
 */
export const requireAdmin = createMiddleware(async (c, next) => {
  const user = c.get("user");
  if (!user) throw new AppError("unauthorized", "Sign in first");
  const access = await Account.access(user.id);
  if (!access || access.disabled || access.role !== "admin") {
    throw new AppError("forbidden", "Only an admin can use the operator console");
  }
  await Audit.as({ userID: user.id, label: access.email }, () => next());
});
