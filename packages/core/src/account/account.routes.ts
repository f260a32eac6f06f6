import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { AppError } from "../error";
import { errorResponses, jsonResponse } from "../http/openapi";
import { validate } from "../http/validate";
import * as Account from "./account";
import { clearSessionCookie, clientIP, sessionToken, setSessionCookie } from "./session";

export const AccountRoutes = new Hono()
  .post(
    "/signup",
    describeRoute({
      summary: "Create an account and sign in",
      tags: ["auth"],
      responses: {
        201: jsonResponse("The new user; the session cookie is set", { user: Account.Info }),
        ...errorResponses(400, 403, 409),
      },
    }),
    validate("json", Account.SignupInput),
    async (c) => {
      const { user, session } = await Account.signup(c.req.valid("json"));
      setSessionCookie(c, session);
      return c.json({ user }, 201);
    },
  )
  .post(
    "/login",
    describeRoute({
      summary: "Sign in",
      tags: ["auth"],
      responses: {
        200: jsonResponse("The user; the session cookie is set", { user: Account.Info }),
        ...errorResponses(400, 401, 403, 429),
      },
    }),
    validate("json", Account.LoginInput),
    // A 429 gets Retry-After from the error handler (http/errors.ts).
    async (c) => {
      const { user, session } = await Account.login(c.req.valid("json"), clientIP(c));
      setSessionCookie(c, session);
      return c.json({ user }, 200);
    },
  )
  .post(
    "/logout",
    describeRoute({
      summary: "Sign out: the session is revoked server-side",
      tags: ["auth"],
      responses: { 204: { description: "Signed out" }, ...errorResponses(403) },
    }),
    async (c) => {
      const token = sessionToken(c);
      if (token) await Account.logout(token);
      clearSessionCookie(c);
      return c.body(null, 204);
    },
  )
  .get(
    "/me",
    describeRoute({
      summary: "The signed-in user",
      tags: ["auth"],
      responses: { 200: jsonResponse("The user", { user: Account.Info }), ...errorResponses(401) },
    }),
    async (c) => {
      const user = c.get("user");
      if (!user) throw new AppError("unauthorized", "Sign in first");
      return c.json({ user }, 200);
    },
  );
