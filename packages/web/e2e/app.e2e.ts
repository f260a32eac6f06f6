import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { PNG } from "../../core/test/fixtures/png";
import { contentSecurityPolicy, errorReportingOrigins } from "../security-headers";
import { audit as auditPage } from "./axe";
import { launchChromium } from "./browser";

/**
 * The app in real Chromium (Debian's, driven by playwright-core), served by `npm run dev`.
 * Each test gets a fresh browser context (its own cookies). A failing test leaves a screenshot
 * in test-results/.
 */

const baseURL = inject("baseURL");
const previewURL = inject("previewURL");
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

/** A fresh browser context (its own cookies) on one of the two running apps. */
async function openApp(url: string) {
  context = await browser.newContext({ baseURL: url });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
}

beforeEach(() => openApp(baseURL));

// Screenshot before the context closes (an onTestFailed hook runs after teardown: page gone).
afterEach(async (test) => {
  if (test.task.result?.state === "fail") {
    const dir = path.resolve("test-results");
    mkdirSync(dir, { recursive: true });
    await page.screenshot({
      path: path.join(dir, `${test.task.name.replace(/\W+/g, "-")}.png`),
      fullPage: true,
    });
  }
  await context.close();
});

const unique = (name: string) =>
  `${name}.${Date.now()}.${Math.random().toString(36).slice(2, 6)}@example.com`;

async function signUp(name: string, email: string, password: string) {
  await page.goto("/signup");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password (8 characters or more)").fill(password);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("heading", { name: "Your notes" }).waitFor();
}

/** Writes a note from the list, saves it, and opens it again from the list, fully loaded. */
async function writeNote(title: string, text?: string) {
  await page.getByRole("link", { name: "New note" }).click();
  await page.getByLabel("Title").fill(title);
  if (text) await page.getByLabel("Text").fill(text);
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("link", { name: title }).click();
  // Loaded (its attachments list too): a request still on its way could meet a session a test is
  // about to end, and its 401 would send the page to log in in the middle of the next step.
  await page.getByText("No files yet.").waitFor();
}

/** Downloads the attached pixel.png and checks it is byte for byte the file uploaded. */
async function downloadPNG() {
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download pixel.png" }).click(),
  ]);
  expect(download.suggestedFilename()).toBe("pixel.png");
  expect(readFileSync((await download.path()) ?? "")).toEqual(PNG);
}

async function logIn(email: string, password: string) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/**
 * Opens the dev mailbox (`/dev/mail`, which polls: the worker writes the mail a moment after the
 * request) and follows the link in the newest mail to `to` that goes to `path`.
 */
async function followMailedLink(to: string, path: string) {
  await page.goto("/dev/mail");
  const mail = page
    .getByRole("article")
    .filter({ hasText: `To ${to},` })
    .filter({ hasText: `${path}#token=` })
    .first();
  await mail.getByRole("link", { name: new RegExp(`${path}#token=`) }).click();
}

describe("in Chromium", () => {
  it("sign up, write a note, attach a PNG (progress bar, checked, downloaded), log out, log in again and find it", async () => {
    const email = unique("ada");
    await signUp("Ada", email, "analytical engine");
    await writeNote("Bernoulli numbers", "Note G");

    // Hold the upload at the storage until the progress bar has been seen: deterministic, no sleep.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route("**/storage/uploads", async (route) => {
      await held;
      await route.continue();
    });
    await page.getByLabel("Attach a file").setInputFiles({
      name: "pixel.png",
      mimeType: "image/png",
      buffer: PNG,
    });
    const bar = page.getByRole("progressbar", { name: "Uploading pixel.png" });
    await bar.waitFor();
    expect(Number(await bar.getAttribute("max"))).toBe(PNG.byteLength);
    release();
    await bar.waitFor({ state: "detached" });

    // Checked by the worker in the background; the page polls until it is ready.
    await page.getByText("Ready").waitFor();
    await downloadPNG();

    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    // The session is gone server-side too: the notes list sends us back to log in.
    await page.goto("/");
    await page.getByRole("heading", { name: "Log in" }).waitFor();

    await logIn(email, "analytical engine");
    await page.getByRole("link", { name: "Bernoulli numbers" }).click();
    expect(await page.getByLabel("Text").inputValue()).toBe("Note G");
    await page.getByRole("button", { name: "Download pixel.png" }).waitFor();
  });

  it("a file over the size limit is refused next to the input, and nothing is uploaded", async () => {
    await signUp("Cy", unique("cy"), "cy password!");
    await writeNote("Big files");
    let uploads = 0;
    page.on("request", (request) => {
      if (new URL(request.url()).pathname.startsWith("/storage/")) uploads++;
    });
    await page.getByLabel("Attach a file").setInputFiles({
      name: "huge.png",
      mimeType: "image/png",
      buffer: Buffer.alloc(10 * 1024 * 1024 + 1),
    });
    expect(await page.getByRole("alert").textContent()).toBe(
      "This file is too large: must be at most 10 MB",
    );
    expect(await page.getByLabel("Attach a file").getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByText("No files yet.").count()).toBe(1);
    expect(uploads).toBe(0);
  });

  it("a wrong password shows the error and stays on the login page", async () => {
    const email = unique("bob");
    await signUp("Bob", email, "correct password");
    await page.getByRole("button", { name: "Log out" }).click();
    await logIn(email, "wrong password!");
    expect(await page.getByRole("alert").textContent()).toBe("Wrong email or password");
    expect(new URL(page.url()).pathname).toBe("/login");
  });

  it("a second user cannot open the first user's note", async () => {
    await signUp("Owner", unique("owner"), "owner password");
    await writeNote("Private plans");
    const noteURL = new URL(page.url()).pathname;
    expect(noteURL).toMatch(/^\/notes\/not_/);

    await context.clearCookies();
    await signUp("Intruder", unique("intruder"), "intruder password");
    await page.goto(noteURL);
    await page.getByRole("heading", { name: "Not found" }).waitFor();
    expect(await page.getByText("Private plans").count()).toBe(0);
  });

  it("a session that ends sends the user to log in, and back to the page after", async () => {
    const email = unique("cy");
    await signUp("Cy", email, "cy password 1");
    await page.getByRole("link", { name: "New note" }).click();
    await context.clearCookies(); // the session is gone
    await page.getByLabel("Title").fill("Lost?");
    await page.getByRole("button", { name: "Save" }).click();
    await page.waitForURL(/\/login\?next=%2Fnotes%2Fnew/);
    await logIn(email, "cy password 1");
    await page.getByRole("heading", { name: "New note" }).waitFor();
  });

  it("sign up, open the verification mail in the dev mailbox, follow its link: the address is verified", async () => {
    const email = unique("eve");
    await signUp("Eve", email, "eve password");
    await page.getByRole("link", { name: "Account" }).click();
    await page.getByText("Not verified").waitFor();

    await followMailedLink(email, "/verify-email");
    await page
      .getByRole("status")
      .filter({ hasText: `${email} is confirmed.` })
      .waitFor();
    await page.getByRole("link", { name: "Account" }).click();
    await page.getByText("Verified", { exact: true }).waitFor();
    expect(await page.getByRole("button", { name: "Send a new verification link" }).count()).toBe(
      0,
    );
  });

  it("forgot password, the mailed link, a new password: signed in here, the old session is gone, the new password logs in", async () => {
    const email = unique("fay");
    await signUp("Fay", email, "fay password 1");
    const first = page;

    // Another browser, signed out: forgot password from the login page.
    const other = await browser.newContext({ baseURL });
    page = await other.newPage();
    page.setDefaultTimeout(10_000);
    try {
      await page.goto("/login");
      await page.getByRole("link", { name: "Forgot your password?" }).click();
      await page.getByLabel("Email").fill(email);
      await page.getByRole("button", { name: "Send the link" }).click();
      await page.getByRole("status").waitFor();
      await followMailedLink(email, "/reset-password");
      await page.getByLabel("New password (8 characters or more)").fill("fay password 2");
      await page.getByRole("button", { name: "Set the password and log in" }).click();
      await page.getByRole("heading", { name: "Your notes" }).waitFor();
    } finally {
      await other.close();
      page = first;
    }

    // The first browser's session ended with the reset.
    await page.goto("/");
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    await logIn(email, "fay password 1");
    expect(await page.getByRole("alert").textContent()).toBe("Wrong email or password");
    await logIn(email, "fay password 2");
    await page.getByRole("heading", { name: "Your notes" }).waitFor();
  });

  it("delete the account, confirmed with the password (a wrong one refused by its field): signed out on the login page, and it cannot log in", async () => {
    const email = unique("jo");
    await signUp("Jo", email, "jo password!");
    await page.getByRole("link", { name: "Account" }).click();
    await page.getByRole("button", { name: "Delete account…" }).click();
    // A wrong password: the error by its field, the page (confirmation open) still axe-clean.
    await page.setViewportSize({ width: 375, height: 800 });
    await page.getByLabel("Your password, to confirm").fill("not jo's password");
    await page.getByRole("button", { name: "Delete my account for good" }).click();
    await page.getByText("Wrong password").waitFor();
    expect(await audit()).toEqual({ violations: [], overflow: 0 });
    await page.getByLabel("Your password, to confirm").fill("jo password!");
    await page.getByRole("button", { name: "Delete my account for good" }).click();
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    expect(await page.getByRole("status").textContent()).toBe("Your account has been deleted.");
    await logIn(email, "jo password!");
    expect(await page.getByRole("alert").textContent()).toBe("Wrong email or password");
  });

  it("every page passes axe's WCAG 2 A/AA rules, on a desktop and at phone width without sideways scrolling", async () => {
    await signUp("Dana", unique("dana"), "dana password");
    await writeNote("A note with a rather long title that has to wrap on a phone");
    const notePath = new URL(page.url()).pathname;
    await page.getByLabel("Attach a file").setInputFiles({
      name: "a-file-name-that-is-long-enough-to-wrap-on-small-screens.png",
      mimeType: "image/png",
      buffer: PNG,
    });
    await page.getByText("Ready").waitFor();

    // Path, heading, and text that says the page has loaded what it asks the API for.
    type Visit = [string, string, string?];
    const signedIn: Visit[] = [
      ["/", "Your notes"],
      [notePath, "Edit note"],
      ["/notes/new", "New note"],
      ["/nowhere", "Not found"],
      ["/account", "Your account", "(this device)"],
      ["/verify-email#token=used", "Confirm your email address", "Send a new link"],
    ];
    const signedOut: Visit[] = [
      ["/login", "Log in"],
      ["/signup", "Create your account"],
      ["/forgot-password", "Reset your password"],
      ["/reset-password#token=unknown", "Set a new password"],
      ["/verify-email#token=used", "Confirm your email address", "to ask for a new link"],
      ["/confirm-email#token=used", "Confirm your new email address", "This link is unknown"],
    ];
    for (const pages of [signedIn, signedOut]) {
      if (pages === signedOut) await context.clearCookies();
      for (const width of [1280, 375]) {
        await page.setViewportSize({ width, height: 800 });
        for (const [path, heading, loaded] of pages) {
          await page.goto(path);
          await page.getByRole("heading", { name: heading, exact: true }).waitFor();
          if (loaded) await page.getByText(loaded).first().waitFor();
          expect({ path, width, ...(await audit()) }).toEqual({
            path,
            width,
            violations: [],
            overflow: 0,
          });
        }
      }
    }
  });
});

/** The shared audit on this file's current page. */
const audit = () => auditPage(page);

describe("the production build, under the headers CloudFront sends", () => {
  it("works end to end with no CSP violation, and the CSP does block an injected inline script", async () => {
    await context.close();
    await openApp(previewURL);
    // The preview reports errors to a fake ingest (setup.ts); a flow that works reports nothing.
    const ingested = `${inject("sentryIngestURL")}/events`;
    await fetch(ingested, { method: "DELETE" });
    // Every violation any page reports, from its first script on, kept here across navigations.
    const violations: string[] = [];
    let reported = () => {};
    await page.exposeFunction("reportViolation", (violation: string) => {
      violations.push(violation);
      reported();
    });
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (event) =>
        (window as unknown as { reportViolation(v: string): void }).reportViolation(
          `${event.effectiveDirective} ${event.blockedURI}`,
        ),
      );
    });

    const response = await page.goto("/signup");
    // The fake ingest's origin is the CSP's one addition.
    expect(response?.headers()["content-security-policy"]).toBe(
      contentSecurityPolicy(errorReportingOrigins(inject("sentryDsn"))),
    );
    expect(response?.headers()["x-frame-options"]).toBe("DENY");
    await signUp("Hedy", unique("hedy"), "frequency hopping");
    await writeNote("Under the CSP");
    await page.getByLabel("Attach a file").setInputFiles({
      name: "pixel.png",
      mimeType: "image/png",
      buffer: PNG,
    });
    await page.getByText("Ready").waitFor();
    await downloadPNG();
    expect(violations).toEqual([]);
    expect(await (await fetch(ingested)).json()).toEqual([]);

    // The policy is enforced, not just sent: an inline script does not run, and is reported.
    const violationSeen = new Promise<void>((resolve) => {
      reported = resolve;
    });
    const ran = await page.evaluate(() => {
      const script = document.createElement("script");
      script.textContent = "window.injected = true";
      document.head.append(script);
      return (window as unknown as { injected?: boolean }).injected === true;
    });
    expect(ran).toBe(false);
    await violationSeen;
    expect(violations).toEqual(["script-src-elem inline"]);
  });
});
