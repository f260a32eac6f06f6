import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { as, client, rowCounts, sessionCookie, signupUser } from "../../test/app";
import { isolated } from "../../test/database";
import { jsonRequest } from "../../test/http";
import { app } from "../api";
import { queryRows } from "../db/client";
import { useTransaction } from "../db/transaction";
import { LAST_USED_INTERVAL_MINUTES } from "./account";
import { describeUserAgent } from "./user-agent";

/** The session list and ending sessions, black-box through the app. */

afterEach(() => vi.useRealTimers());

const FIREFOX_MAC =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0";
const CHROME_ANDROID =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";

/** Signs in again from a browser that says `userAgent`; returns that session's cookie. */
async function loginWith(account: { email: string; password: string }, userAgent: string) {
  const response = await app.request(
    "/api/auth/login",
    jsonRequest(
      { email: account.email, password: account.password },
      { headers: { "user-agent": userAgent } },
    ),
  );
  expect(response.status).toBe(200);
  return sessionCookie(response);
}

const list = async (cookie: string) => {
  const response = await client(cookie).api.auth.sessions.$get();
  expect(response.status).toBe(200);
  return (await response.json()).sessions;
};

describe("auth: session list", () => {
  it("lists the user's sessions with a public id, times, the device, and which is this one", async () =>
    isolated(async () => {
      const account = await signupUser();
      const laptop = await loginWith(account, FIREFOX_MAC);
      const phone = await loginWith(account, CHROME_ANDROID);
      await signupUser(); // someone else's sessions are not listed
      const sessions = await list(laptop);
      expect(sessions).toHaveLength(3);
      expect(sessions.filter((s) => s.current)).toEqual([
        expect.objectContaining({ device: "Firefox on macOS" }),
      ]);
      expect(sessions.map((s) => s.device).sort()).toEqual([
        "Chrome on Android",
        "Firefox on macOS",
        null,
      ]);
      for (const session of sessions) {
        expect(session.id).toMatch(/^ses_/);
        expect(new Date(session.expiresAt).getTime()).toBeGreaterThan(Date.now());
      }
      // Neither a token nor its hash appears.
      const tokens = [account.cookie, laptop, phone].map((c) => c.split("=")[1] ?? "");
      const hashes = await useTransaction((tx) =>
        queryRows<{ token_hash: string }>(tx, sql`select token_hash from session`),
      );
      const body = JSON.stringify(sessions);
      for (const secret of [...tokens, ...hashes.map((h) => h.token_hash)])
        expect(body).not.toContain(secret);
    }));

  it("DELETE /sessions/:id ends that session at once; another user's id is 404 and ends nothing", async () =>
    isolated(async () => {
      const account = await signupUser();
      const phone = await loginWith(account, CHROME_ANDROID);
      const target = (await list(account.cookie)).find((s) => !s.current);
      expect(target).toBeDefined();
      const other = await signupUser();
      const before = await rowCounts();
      const foreign = await client(other.cookie).api.auth.sessions[":id"].$delete({
        param: { id: target?.id ?? "" },
      });
      expect(foreign.status).toBe(404);
      const unknown = await client(other.cookie).api.auth.sessions[":id"].$delete({
        param: { id: "ses_nope" },
      });
      expect(unknown.status).toBe(404);
      expect(await rowCounts()).toEqual(before);
      expect((await client(phone).api.auth.me.$get()).status).toBe(200); // cached now
      const ended = await client(account.cookie).api.auth.sessions[":id"].$delete({
        param: { id: target?.id ?? "" },
      });
      expect(ended.status).toBe(204);
      // Another device's session: this browser keeps its cookie.
      expect(ended.headers.get("set-cookie")).toBeNull();
      expect((await client(phone).api.auth.me.$get()).status).toBe(401);
      expect((await client(account.cookie).api.auth.me.$get()).status).toBe(200);
    }));

  it("DELETE /sessions/:id of this very session ends it and clears its cookie, as logout does", async () =>
    isolated(async () => {
      const account = await signupUser();
      const self = (await list(account.cookie)).find((s) => s.current);
      const ended = await client(account.cookie).api.auth.sessions[":id"].$delete({
        param: { id: self?.id ?? "" },
      });
      expect(ended.status).toBe(204);
      expect(ended.headers.get("set-cookie")).toMatch(/slipway_session=;.*Max-Age=0/);
      expect((await client(account.cookie).api.auth.me.$get()).status).toBe(401);
    }));

  it("DELETE /sessions ends every other session of the user and no one else's", async () =>
    isolated(async () => {
      const account = await signupUser();
      const laptop = await loginWith(account, FIREFOX_MAC);
      const phone = await loginWith(account, CHROME_ANDROID);
      const other = await signupUser();
      for (const cookie of [laptop, phone, other.cookie])
        expect((await client(cookie).api.auth.me.$get()).status).toBe(200);
      const response = await client(laptop).api.auth.sessions.$delete();
      expect(response.status).toBe(204);
      expect((await client(laptop).api.auth.me.$get()).status).toBe(200);
      for (const cookie of [account.cookie, phone])
        expect((await client(cookie).api.auth.me.$get()).status).toBe(401);
      expect((await client(other.cookie).api.auth.me.$get()).status).toBe(200);
      expect(await list(laptop)).toHaveLength(1);
    }));

  it(`"last used" is written at most once per ${LAST_USED_INTERVAL_MINUTES} minutes of use`, async () =>
    isolated(async () => {
      vi.useFakeTimers({ toFake: ["Date"] });
      const start = new Date("2030-01-01T12:00:00Z").getTime();
      vi.setSystemTime(start);
      const { cookie } = await signupUser();
      const lastUsed = async () => {
        const [session] = await list(cookie);
        return new Date(session?.lastUsedAt ?? 0).getTime();
      };
      const minute = 60_000;
      // Requests every minute for the interval: none writes.
      for (let m = 1; m < LAST_USED_INTERVAL_MINUTES; m++) {
        vi.setSystemTime(start + m * minute);
        expect(await lastUsed()).toBe(start);
      }
      // The first request past it writes its own time.
      const later = start + LAST_USED_INTERVAL_MINUTES * minute + 1000;
      vi.setSystemTime(later);
      expect(await lastUsed()).toBe(later);
      vi.setSystemTime(later + 5 * minute);
      expect(await lastUsed()).toBe(later);
    }));

  it("signed out: 401 on all three; from a foreign origin: 403, nothing ended", async () =>
    isolated(async () => {
      const account = await signupUser();
      const before = await rowCounts();
      expect((await client().api.auth.sessions.$get()).status).toBe(401);
      expect((await client().api.auth.sessions.$delete()).status).toBe(401);
      expect(
        (await client().api.auth.sessions[":id"].$delete({ param: { id: "ses_x" } })).status,
      ).toBe(401);
      for (const path of ["/api/auth/sessions", "/api/auth/sessions/ses_x"]) {
        const foreign = await app.request(path, {
          method: "DELETE",
          headers: { origin: "https://evil.example", cookie: account.cookie },
        });
        expect(foreign.status).toBe(403);
      }
      expect(await rowCounts()).toEqual(before);
      expect((await as(account.cookie).get("/api/auth/me")).status).toBe(200);
    }));
});

describe("describeUserAgent", () => {
  it.each([
    [FIREFOX_MAC, "Firefox on macOS"],
    [CHROME_ANDROID, "Chrome on Android"],
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
      "Edge on Windows",
    ],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
      "Safari on iOS",
    ],
    [
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
      "Safari on macOS",
    ],
    [
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0",
      "Opera on Linux",
    ],
    [
      "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
      "Chrome on ChromeOS",
    ],
    ["curl/8.5.0", "curl"],
    ["something else", undefined],
    [undefined, undefined],
  ])("%s → %s", (header, expected) => {
    expect(describeUserAgent(header)).toBe(expected);
  });
});
