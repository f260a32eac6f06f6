import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { client, rowCounts, signupUser } from "../../test/app";
import { isolated } from "../../test/database";
import { jsonRequest } from "../../test/http";
import { app } from "../api";
import { rollback, useTransaction } from "../db/transaction";

describe("auth: security", () => {
  it("an expired session is refused and its cookie cleared", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      await useTransaction((tx) =>
        tx.execute(sql`update session set expires_at = now() - interval '1 second'`),
      );
      const me = await client(cookie).api.auth.me.$get();
      expect(me.status).toBe(401);
      expect(me.headers.get("set-cookie")).toMatch(/slipway_session=;.*Max-Age=0/);
    }));

  it("a forged or random session token is refused", async () => {
    expect((await client("slipway_session=forged-token").api.auth.me.$get()).status).toBe(401);
  });

  // app.request: the point is the headers the typed client always sends right.
  it.each([
    "/api/auth/signup",
    "/api/auth/login",
    "/api/auth/logout",
    "/api/auth/logout-everywhere",
  ])("CSRF: %s from a foreign origin or with no Origin is 403 and writes nothing", async (path) =>
    isolated(async () => {
      const { cookie } = await signupUser();
      const before = await rowCounts();
      const body = { email: "x@example.com", password: "a strong password", name: "X" };
      const foreign = await app.request(
        path,
        jsonRequest(body, { headers: { origin: "https://evil.example", cookie } }),
      );
      expect(foreign.status).toBe(403);
      const bare = await app.request(path, {
        method: "POST",
        headers: { "content-type": "application/json", cookie },
        body: JSON.stringify(body),
      });
      expect(bare.status).toBe(403);
      expect(await rowCounts()).toEqual(before);
    }),
  );
});
