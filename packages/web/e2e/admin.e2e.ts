import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  afterAll,
  afterEach,
  beforeAll,
  describe,
  expect,
  inject,
  it,
  onTestFinished,
} from "vitest";
import { audit } from "./axe";
import { launchChromium } from "./browser";

/**
 * The operator console (/admin) in real Chromium, on both running apps (`npm run dev` and
 * `npm run preview`): admin granted by the CLI, a user found and signed out everywhere, a task
 * made to fail (the offline dev fault switch) redriven and seen to succeed, both actions in the
 * audit log; a member gets the not-found page and a 403 from every /api/admin/* route.
 */

const root = fileURLToPath(new URL("../../..", import.meta.url));
const apps = {
  dev: { url: inject("baseURL"), dataDir: inject("dataDirs").dev },
  preview: { url: inject("previewURL"), dataDir: inject("dataDirs").preview },
};
type App = (typeof apps)[keyof typeof apps];

let browser: Browser;
const contexts: BrowserContext[] = [];
/** Every page opened by the running test, screenshotted if it fails. */
const pages: Page[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

afterEach(async (test) => {
  if (test.task.result?.state === "fail") {
    const dir = path.resolve("test-results");
    mkdirSync(dir, { recursive: true });
    for (const [i, page] of pages.entries()) {
      await page
        .screenshot({
          path: path.join(dir, `${test.task.name.replace(/\W+/g, "-")}-${i}.png`),
          fullPage: true,
        })
        .catch(() => {});
    }
  }
  pages.length = 0;
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

/** A browser of its own (its own cookies) on `app`. */
async function browse(app: App) {
  const context = await browser.newContext({ baseURL: app.url });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  pages.push(page);
  return page;
}

const unique = (name: string) =>
  `${name}.${Date.now()}.${Math.random().toString(36).slice(2, 6)}@example.com`;

const exec = promisify(execFile);

/**
 * An account made on `app` (make-account.ts: not through the sign-up route, whose 10 an hour from
 * one address app.e2e.ts spends), then signed in on `page` through the login form.
 */
async function signUp(app: App, page: Page, name: string, email: string) {
  const password = `${name} password`;
  await exec("npx", ["tsx", "packages/web/e2e/make-account.ts", email, password, name], {
    cwd: root,
    env: { ...process.env, PGLITE_DIR: app.dataDir, LOG_LEVEL: "warn" },
    timeout: 60_000,
  });
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Your notes" }).waitFor();
}

/** `npm run users -- <args>` against the app's database, through its owner (the running API). */
async function usersCli(app: App, ...args: string[]) {
  const { stdout } = await exec("npm", ["run", "--silent", "users", "--", ...args], {
    cwd: root,
    env: { ...process.env, PGLITE_DIR: app.dataDir, LOG_LEVEL: "warn" },
    timeout: 60_000,
  });
  return stdout;
}

/**
 * `npm run users -- grant-admin`, then until `/api/auth/me` says so: a signed-in browser's user is
 * cached by the API for SESSION_CACHE_SECONDS (5 s), so the role shows within that bound.
 */
async function grantAdmin(app: App, page: Page, email: string) {
  expect(await usersCli(app, "grant-admin", email)).toContain(email);
  await expect
    .poll(
      async () =>
        ((await (await page.request.get("/api/auth/me")).json()) as { user: { role: string } }).user
          .role,
      { timeout: 20_000 },
    )
    .toBe("admin");
}

/** The offline dev switch that makes a task fail on purpose (packages/core/src/dev/faults.ts). */
async function fault(app: App, task: string, message?: string) {
  const response = await fetch(`${app.url}/api/dev/faults/${task}`, {
    method: message ? "PUT" : "DELETE",
    headers: { origin: app.url, "content-type": "application/json" },
    body: message ? JSON.stringify({ message }) : undefined,
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

/** The status of a request the page itself makes (its cookies, its Origin), and the error code. */
function fetchFromPage(page: Page, method: string, url: string) {
  return page.evaluate(
    async ([method, url]) => {
      const response = await fetch(url, {
        method,
        headers: { "content-type": "application/json" },
        body: method === "GET" ? undefined : "{}",
      });
      const body = (await response.json().catch(() => ({}))) as { error?: { code?: string } };
      return { status: response.status, code: body.error?.code };
    },
    [method, url] as const,
  );
}

/** Every operation under /api/admin in the API's own OpenAPI document, with sample parameters. */
async function adminOperations(page: Page) {
  const document = (await (await page.request.get("/api/openapi.json")).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const methods = ["get", "post", "put", "patch", "delete"];
  return Object.entries(document.paths)
    .filter(([route]) => route.startsWith("/api/admin"))
    .flatMap(([route, operations]) =>
      Object.keys(operations)
        .filter((method) => methods.includes(method))
        .map((method) => ({
          method: method.toUpperCase(),
          url: route.replace(/\{[^}]+\}/g, "x"),
        })),
    );
}

// The tests below spend much of their time in child processes (the CLIs) and page loads: on a
// busy two-core machine a minute is not always enough.
describe.each([
  ["npm run dev", apps.dev],
  ["npm run preview", apps.preview],
])("the operator console on %s", (_name, app) => {
  it("admin by the CLI: finds a user and signs them out (their next request is 401), redrives a task made to fail and sees it succeed, and finds both in the audit log", {
    timeout: 150_000,
  }, async () => {
    const adminEmail = unique("root");
    const admin = await browse(app);
    await signUp(app, admin, "Root", adminEmail);
    // A member until the CLI says otherwise.
    await admin.goto("/admin");
    await admin.getByRole("heading", { name: "Not found" }).waitFor();
    await grantAdmin(app, admin, adminEmail);

    // The admin's own verification mail is out: only the next sign-up's can fail.
    await expect.poll(() => mailTo(admin, adminEmail), { timeout: 20_000 }).toBe(1);
    // The verification mail fails on every delivery, until the fault is cleared.
    const task = "account.sendVerification";
    const failure = `The mail provider is down (dev fault ${Date.now()})`;
    await fault(app, task, failure);
    let faulted = true;
    onTestFinished(async () => {
      if (faulted) await fault(app, task);
    });
    const graceEmail = unique("grace");
    const grace = await browse(app);
    await signUp(app, grace, "Grace", graceEmail);

    // Find Grace and sign her out everywhere.
    await admin.goto("/admin");
    await admin.getByRole("heading", { name: "Users" }).waitFor();
    await admin.getByLabel("Email starts with").fill(graceEmail);
    await admin.getByRole("button", { name: "Apply filters" }).click();
    const row = admin.getByRole("row").filter({ hasText: graceEmail });
    await row.getByRole("cell", { name: "1", exact: true }).waitFor(); // one session
    await row.getByRole("button", { name: `Revoke sessions… ${graceEmail}` }).click();
    await row.getByRole("button", { name: `Sign out everywhere ${graceEmail}` }).click();
    await admin.getByText(`${graceEmail} is signed out everywhere (1 session ended).`).waitFor();
    await row.getByRole("cell", { name: "0", exact: true }).waitFor();
    expect(await fetchFromPage(grace, "GET", "/api/auth/me")).toEqual({
      status: 401,
      code: "unauthorized",
    });

    // The failed task is a dead letter after its deliveries, with its last error.
    await admin
      .getByRole("navigation", { name: "Console" })
      .getByRole("link", { name: "Tasks" })
      .click();
    await admin.getByRole("heading", { name: "Tasks" }).waitFor();
    const letter = admin.getByRole("row").filter({ hasText: task }).filter({ hasText: failure });
    await letter.waitFor({ timeout: 45_000 });
    // Not sent: the dev mailbox has nothing for Grace. The provider is back: redrive.
    expect(await mailTo(admin, graceEmail)).toBe(0);
    await fault(app, task);
    faulted = false;
    await letter.getByRole("button", { name: /^Redrive account\.sendVerification/ }).click();
    await admin.getByText(`${task} is back on the queue.`).waitFor();
    await letter.waitFor({ state: "detached" });
    // It runs and succeeds this time: the verification mail reaches Grace's address.
    await expect.poll(() => mailTo(admin, graceEmail), { timeout: 20_000 }).toBe(1);
    // And the console's mail log says so.
    await admin
      .getByRole("navigation", { name: "Console" })
      .getByRole("link", { name: "Mail" })
      .click();
    await admin
      .getByRole("row")
      .filter({ hasText: graceEmail })
      .filter({ hasText: "sent" })
      .waitFor();

    // Both actions are in the audit log, by the admin, with their targets.
    await admin.goto("/admin/audit");
    await admin.getByRole("heading", { name: "Audit log" }).waitFor();
    const entries = admin.getByRole("row").filter({ hasText: adminEmail });
    await entries.filter({ hasText: "user.revoke-sessions" }).waitFor();
    await entries
      .filter({ hasText: /task\.redrive/ })
      .first()
      .waitFor();
    // And the grant by the CLI.
    await admin.getByRole("row").filter({ hasText: "user.grant-admin" }).first().waitFor();
  });

  it("a member opening /admin sees the not-found page, and every /api/admin/* route answers 403 (401 signed out)", {
    timeout: 150_000,
  }, async () => {
    const member = await browse(app);
    await signUp(app, member, "Mo", unique("mo"));
    await member.goto("/admin");
    await member.getByRole("heading", { name: "Not found" }).waitFor();
    await member.goto("/admin/tasks");
    await member.getByRole("heading", { name: "Not found" }).waitFor();
    expect(await member.getByRole("link", { name: "Console" }).count()).toBe(0);

    const operations = await adminOperations(member);
    // The console's routes: users, tables, audit, tasks, schedules, mail, attachments.
    expect(operations.length).toBeGreaterThanOrEqual(15);
    const answers = [];
    for (const { method, url } of operations) {
      answers.push({ method, url, ...(await fetchFromPage(member, method, url)) });
    }
    expect(answers.filter((a) => a.status !== 403 || a.code !== "forbidden")).toEqual([]);

    await member.context().clearCookies();
    const signedOut = [];
    for (const { method, url } of operations) {
      signedOut.push({ method, url, ...(await fetchFromPage(member, method, url)) });
    }
    expect(signedOut.filter((a) => a.status !== 401)).toEqual([]);
  });
});

describe("the operator console's accessibility (npm run dev)", () => {
  it("every view passes axe's WCAG 2 A/AA rules at 1280 and 375 px, without sideways scrolling, and works from the keyboard", {
    timeout: 150_000,
  }, async () => {
    const app = apps.dev;
    const email = unique("ally");
    const page = await browse(app);
    await signUp(app, page, "Ally", email);
    await grantAdmin(app, page, email);

    // Path, heading, and text that says the view has loaded what it asks the API for.
    const views: [string, string, string | RegExp][] = [
      ["/admin/users", "Users", email],
      ["/admin/tables", "Tables", "admin_audit"],
      ["/admin/tables/user", "Table user", email],
      ["/admin/tasks", "Tasks", "Oldest dead letter"],
      ["/admin/schedules", "Schedules", "maintenance-cleanup-hourly"],
      ["/admin/mail", "Mail", /Recent mail, newest first|No mail has been sent yet/],
      ["/admin/attachments", "Attachments", /Recent attachments|No files have been attached yet/],
      ["/admin/audit", "Audit log", "user.grant-admin"],
    ];
    for (const width of [1280, 375]) {
      await page.setViewportSize({ width, height: 800 });
      for (const [view, heading, loaded] of views) {
        await page.goto(view);
        await page.getByRole("heading", { name: heading, exact: true }).waitFor();
        await page.getByText(loaded).first().waitFor();
        expect({ view, width, ...(await audit(page)) }).toEqual({
          view,
          width,
          violations: [],
          overflow: 0,
        });
      }
    }

    // From the keyboard: the console's links, then a filter applied with Enter.
    await page.goto("/admin/users");
    await page.getByRole("heading", { name: "Users" }).waitFor();
    await page
      .getByRole("navigation", { name: "Console" })
      .getByRole("link", { name: "Users" })
      .focus();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Tables" }).waitFor();
    expect(
      await page
        .getByRole("navigation", { name: "Console" })
        .getByRole("link", { name: "Tables" })
        .getAttribute("aria-current"),
    ).toBe("page");
    await page.goto("/admin/users");
    await page.getByLabel("Email starts with").focus();
    await page.keyboard.type("nobody-at-all");
    await page.keyboard.press("Enter");
    await page.getByText("No user's email starts with “nobody-at-all”.").waitFor();
  });
});

/** How many mails the dev mailbox holds for `to`. */
async function mailTo(page: Page, to: string): Promise<number> {
  const response = await page.request.get("/api/dev/mail");
  const { messages } = (await response.json()) as { messages: { to: string }[] };
  return messages.filter((m) => m.to === to).length;
}
