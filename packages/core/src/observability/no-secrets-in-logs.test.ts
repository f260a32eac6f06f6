import { describe, expect, it } from "vitest";
import { bootApp, freshDatabase } from "../../test/database";
import { jsonRequest } from "../../test/http";
import { captureLogs } from "../../test/logs";
import { sentryServer } from "../../test/sentry-server";

/**
 * A full flow at debug level, with planted values: nothing secret may appear in any log line.
 * Planted: the password (right and wrong), the session token, the Sentry DSN's key, and the
 * email address as a login identifier in failures.
 */
describe("logs", () => {
  it("carry no password, session token, cookie or secret through signup, login, notes, a failure and tasks", async () => {
    const logs = captureLogs();
    const sentry = await sentryServer();
    const plantedKey = "plantedsentrykey0123456789";
    const dsn = sentry.dsn.replace("publickey", plantedKey);
    const fresh = await freshDatabase({ migrated: true });
    const booted = await bootApp(
      { ...fresh.env, LOG_LEVEL: "debug", SENTRY_DSN: dsn },
      fresh.handle,
    );
    await booted.migrator.migrate(fresh.handle.db, booted.config.migrationsDir);
    const { initErrorReporting } = await import("./error-reporting");
    await initErrorReporting();
    const app = booted.app;

    const password = "planted-Password-Value-42";
    const wrong = "planted-Wrong-Password-77";
    const email = "planted.user@example.com";
    const signup = await app.request(
      "/api/auth/signup",
      jsonRequest({ email, password, name: "P" }),
    );
    const cookie = (signup.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const token = cookie.split("=")[1] ?? "";
    expect(token.length).toBeGreaterThan(20);

    await app.request("/api/auth/login", jsonRequest({ email, password: wrong }));
    const login = await app.request("/api/auth/login", jsonRequest({ email, password }));
    const token2 = (login.headers.get("set-cookie") ?? "").split(";")[0]?.split("=")[1] ?? "";
    const as = { headers: { cookie } };
    await app.request("/api/notes", jsonRequest({ title: "t", body: "b" }, as));
    await app.request("/api/notes?limit=500", as); // a 400
    await app.request("/api/auth/me", as);
    await app.request("/api/dev/tasks/run", jsonRequest({ task: "digest.daily", payload: {} }, as));
    await app.request("/api/auth/logout", jsonRequest({}, as));

    const output = JSON.stringify(logs);
    expect(logs.length).toBeGreaterThan(5);
    for (const secret of [password, wrong, token, token2, plantedKey]) {
      expect(output).not.toContain(secret);
    }
    expect(output).not.toContain("slipway_session=");
    // Requests are logged with their ids (request, trace), method, path and status only.
    expect(
      logs
        .filter((l) => l.message === "request")
        .every(
          (l) =>
            Object.keys(l).sort().join() ===
            "durationMs,level,message,method,path,requestId,status,time,traceId",
        ),
    ).toBe(true);
  });
});
