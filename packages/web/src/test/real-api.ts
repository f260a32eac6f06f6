import { Headers as NodeHeaders, Request as NodeRequest, Response as NodeResponse } from "undici";
import { expect, onTestFinished, vi } from "vitest";
import { bootApp, freshDatabase } from "../../../core/test/database";
import { createApi } from "../api";

/**
 * The React app against the real API, in-process, on a database of its own: what the browser's
 * fetch would do (same-origin Origin header, cookies kept) without a network or a browser.
 */
export async function realApi() {
  // The API answers with Node's (undici's) Response: happy-dom's, like a browser's to script,
  // drops Set-Cookie, and this in-process "browser" keeps the cookie jar itself.
  vi.stubGlobal("Response", NodeResponse);
  vi.stubGlobal("Headers", NodeHeaders);
  onTestFinished(() => {
    vi.unstubAllGlobals();
  });
  const fresh = await freshDatabase({ migrated: true });
  const booted = await bootApp(fresh.env, fresh.handle);
  await booted.migrator.migrate(fresh.handle.db, booted.config.migrationsDir);
  let cookie = "";
  // A background refetch can still be running when a test ends; its database closes after
  // (finish hooks run in reverse), so it gets an answer instead of a lost connection.
  const inFlight = new Set<Promise<Response>>();
  onTestFinished(async () => {
    // Until none is left: an answer can set off another request.
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  });
  /** A browser's fetch: with the jar's cookie (or `as`'s), keeping what the answer sets. */
  const fetchWith = (as?: string) =>
    (async (input: RequestInfo | URL, init?: RequestInit) => {
      // Plain objects: under happy-dom, Headers is not the class Node's Request reads.
      const headers: Record<string, string> = Object.fromEntries(
        new Headers(init?.headers).entries(),
      );
      headers.origin = "http://localhost:3000";
      const sent = as ?? cookie;
      if (sent) headers.cookie = sent;
      // As a browser does: without it Hono's body limit re-reads the stream into a global Request.
      if (typeof init?.body === "string")
        headers["content-length"] = String(Buffer.byteLength(init.body));
      // Node's own Request (undici): happy-dom's, like a browser's, drops the Origin header.
      const request = new NodeRequest(
        new globalThis.URL(String(input), "http://localhost:3000").href,
        {
          method: init?.method,
          headers,
          body: init?.body as string | undefined,
        },
      );
      const response = Promise.resolve(booted.app.fetch(request as unknown as Request)).then(
        (answer) => {
          if (as === undefined) keepCookie(answer.headers.getSetCookie());
          return answer;
        },
      );
      inFlight.add(response);
      return response.finally(() => inFlight.delete(response));
    }) as typeof fetch;
  /** The session cookie a response set, or cleared (`Max-Age=0`), as a browser keeps it. */
  const keepCookie = (setCookies: string[]) => {
    for (const header of setCookies) {
      const [pair = ""] = header.split(";");
      if (!pair.startsWith("slipway_session=")) continue;
      cookie = /;\s*max-age=0/i.test(header) || pair.endsWith("=") ? "" : pair;
    }
  };
  return {
    api: createApi(fetchWith()),
    /** A client with this cookie, as another device would send it (the jar is left alone). */
    as: (other: string) => createApi(fetchWith(other)),
    /** The cookie the "browser" holds now. */
    cookie: () => cookie,
    /**
     * Runs the queued tasks (the account mails), then the link to `page` in the newest mail to
     * `to` whose subject starts with `subject`: the token the page gets.
     */
    async mailedToken(to: string, page: string) {
      await this.runTasks();
      const { Mail } = await import("../../../core/src/mail");
      const mail = (await Mail.devMailbox())
        .filter((m) => m.to === to)
        .sort((a, b) => (a.id < b.id ? 1 : -1))
        .find((m) => m.text.includes(`${page}#token=`));
      const token = new RegExp(`${page}#token=([\\w-]+)`).exec(mail?.text ?? "")?.[1];
      expect(token, `a mail to ${to} with a link to ${page}`).toBeDefined();
      return token ?? "";
    },
    /** Runs queued tasks (attachment checks) as the worker would, in this app's module graph. */
    async runTasks() {
      const [{ drain }, { tasks }] = await Promise.all([
        import("../../../core/test/tasks"),
        import("../../../core/src/tasks"),
      ]);
      await drain(tasks);
    },
    /** Puts bytes where a presigned upload would have (the form POST itself runs in core and e2e). */
    async store(key: string, bytes: Uint8Array, contentType: string) {
      const { storage } = await import("../../../core/src/storage/storage");
      await (await storage()).put(key, bytes, contentType);
    },
    /**
     * Signs a user up through the domain function the signup route uses, and carries its session
     * cookie on later requests. (happy-dom, like a browser, hides Set-Cookie from script, so the
     * in-process fetch cannot pick the cookie up from the response.)
     */
    async signedIn(name: string) {
      const Account = await import("../../../core/src/account/account");
      const email = `${name.toLowerCase()}.${Date.now()}@example.com`;
      const password = "a strong password";
      const { session } = await Account.signup({ email, password, name });
      cookie = `slipway_session=${session.token}`;
      return { email, password, cookie };
    },
    /** Makes the account an admin, as `npm run users -- grant-admin` does (audited). */
    async grantAdmin(email: string) {
      const [Users, Audit] = await Promise.all([
        import("../../../core/src/admin/users"),
        import("../../../core/src/admin/audit"),
      ]);
      await Audit.as({ userID: null, label: "cli:web-test" }, () => Users.setRole(email, "admin"));
    },
    /** Another sign-in of the account, as from another device: its cookie. */
    async otherDevice(email: string, password: string) {
      const Account = await import("../../../core/src/account/account");
      const { session } = await Account.login(
        { email, password },
        { ip: "192.0.2.7", device: "Firefox on Android" },
      );
      return `slipway_session=${session.token}`;
    },
  };
}
