import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium } from "./browser";

/**
 * The API reference (`/api/docs`, packages/core/src/dev/docs.routes.ts) in real Chromium, as
 * `npm run dev` and `npm run preview` serve it through Vite's proxy (preview sends the site's
 * headers on its own files): Redoc renders the live document, and the browser sends no request
 * to any origin but this one (the page's CSP refuses the rest).
 */

const servers = { "npm run dev": inject("baseURL"), "npm run preview": inject("previewURL") };
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

describe("the API reference", () => {
  it.each(Object.entries(servers))(
    "under %s renders the live document with no request beyond this origin",
    async (_, baseURL) => {
      const context = await browser.newContext({ baseURL });
      try {
        const page = await context.newPage();
        page.setDefaultTimeout(20_000);
        const origin = new URL(baseURL).origin;
        // Every request the page made, and those that reached the network (got a response).
        const asked: string[] = [];
        const answered: string[] = [];
        page.on("request", (request) => asked.push(request.url()));
        page.on("requestfinished", (request) => answered.push(request.url()));
        const errors: string[] = [];
        page.on("pageerror", (error) => errors.push(error.message));
        page.on("console", (message) => {
          if (message.type() === "error") errors.push(message.text());
        });

        await page.goto("/api/docs");
        // Redoc's own rendering of the document: its title, a module's tag, an operation.
        await page
          .getByRole("heading", { name: /Slipway API/ })
          .first()
          .waitFor();
        await page.getByRole("heading", { name: "Create a note" }).first().waitFor();
        await page.getByRole("heading", { name: "notes" }).first().waitFor();

        const foreign = (url: string) =>
          !url.startsWith("data:") && !url.startsWith("blob:") && new URL(url).origin !== origin;
        expect(answered.filter(foreign)).toEqual([]);
        expect(answered).toEqual(
          expect.arrayContaining([`${origin}/api/docs`, `${origin}/api/docs/redoc.standalone.js`]),
        );
        expect(answered.some((url) => url.startsWith(`${origin}/api/openapi.json`))).toBe(true);
        // What the CSP refused: nothing but Redocly's logo in Redoc's footer (docs.routes.ts).
        const refused = asked.filter(foreign);
        expect(refused.filter((url) => !url.startsWith("https://cdn.redoc.ly/"))).toEqual([]);
        // No script error; the only console errors are the CSP's refusals of that logo.
        expect(
          errors.filter((text) => !/cdn\.redoc\.ly.*Content Security Policy/.test(text)),
        ).toEqual([]);
      } finally {
        await context.close();
      }
    },
  );
});
