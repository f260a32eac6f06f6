import { errorResponse, errorResponses, signedIn } from "../http/openapi";

/** What every console operation shares in the OpenAPI document (the check is admin.ts's). */
export const tags = ["admin"];
export const security = signedIn;
export const adminOnly = {
  ...errorResponses(401),
  403: errorResponse(
    403,
    "`forbidden`: signed in but not an admin (or the account is disabled); also the platform's CSRF and origin refusals",
  ),
};

/** An admin's writes count against the signed-in write rate like anyone's (limit/write-rate.ts). */
export const adminWrite = { ...adminOnly, ...errorResponses(429) };
