import { mkdirSync } from "node:fs";
import path from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import {
  afterAll,
  beforeAll,
  beforeEach,
  describe,
  expect,
  inject,
  it,
  onTestFailed,
} from "vitest";
import { CHROMIUM } from "./setup";

/**
 * The app in real Chromium (Debian's, driven by playwright-core), served by `npm run dev`.
 * Each test gets a fresh browser context (its own cookies). A failing test leaves a screenshot
 * in test-results/.
 */

const baseURL = inject("baseURL");
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});
afterAll(() => browser?.close());

beforeEach(async (test) => {
  context = await browser.newContext({ baseURL });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  onTestFailed(async () => {
    const dir = path.resolve("test-results");
    mkdirSync(dir, { recursive: true });
    await page.screenshot({
      path: path.join(dir, `${test.task.name.replace(/\W+/g, "-")}.png`),
      fullPage: true,
    });
  });
  return () => context.close();
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

async function logIn(email: string, password: string) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

describe("in Chromium", () => {
  it("sign up, write a note, log out, log in again and find it", async () => {
    const email = unique("ada");
    await signUp("Ada", email, "analytical engine");
    await page.getByRole("link", { name: "New note" }).click();
    await page.getByLabel("Title").fill("Bernoulli numbers");
    await page.getByLabel("Text").fill("Note G");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("link", { name: "Bernoulli numbers" }).waitFor();

    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    // The session is gone server-side too: the notes list sends us back to log in.
    await page.goto("/");
    await page.getByRole("heading", { name: "Log in" }).waitFor();

    await logIn(email, "analytical engine");
    await page.getByRole("link", { name: "Bernoulli numbers" }).click();
    expect(await page.getByLabel("Text").inputValue()).toBe("Note G");
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
    await page.getByRole("link", { name: "New note" }).click();
    await page.getByLabel("Title").fill("Private plans");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("link", { name: "Private plans" }).click();
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
});
