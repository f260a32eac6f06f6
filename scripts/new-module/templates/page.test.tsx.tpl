import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Api, call } from "./api";
import { realApi } from "./test/real-api";
import { statusShows } from "./test/status";

/** The __pluralWords__ pages (generated with the __kebab__ module) against the real API in-process. */

beforeEach(() => window.history.replaceState(null, "", "/"));
afterEach(cleanup);

/**
 * The app at `path`. Imported after `realApi()`: its bootApp resets the module registry, and the
 * lazily loaded pages, imported after it, would otherwise get an ApiContext other than this App's.
 */
const open = async (path: string, api: Api) => {
  const { App } = await import("./app");
  cleanup();
  window.history.replaceState(null, "", path);
  render(<App api={api} />);
};

describe("__pluralWords__ pages", () => {
  it("from the nav: the empty list, an empty title refused by its field, a __words__ added (the focus back in the field), opened, deleted", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    await backend.signedIn("Ada");
    await open("/", backend.api);
    await user.click(await screen.findByRole("link", { name: "__PluralWords__" }));
    expect(
      await screen.findByRole("heading", { level: 1, name: "Your __pluralWords__" }),
    ).toBeTruthy();
    expect(await screen.findByText("No __pluralWords__ yet. Add the first one.")).toBeTruthy();

    const title = screen.getByLabelText("Title");
    await user.click(screen.getByRole("button", { name: "Add" }));
    await waitFor(() => expect(title.getAttribute("aria-invalid")).toBe("true"));
    expect(document.getElementById(title.getAttribute("aria-describedby") ?? "")?.textContent).toBe(
      "must not be empty",
    );
    expect((await call(backend.api.api__pluralAccess__.$get({ query: {} }))).items).toEqual([]);

    await user.type(title, "First");
    await user.click(screen.getByRole("button", { name: "Add" }));
    await statusShows(screen, "Added “First”.");
    expect(await screen.findByRole("link", { name: "First" })).toBeTruthy();
    expect(title.getAttribute("aria-invalid")).toBeNull();
    expect((title as HTMLInputElement).value).toBe("");
    expect(document.activeElement).toBe(title);

    await user.click(screen.getByRole("link", { name: "First" }));
    expect(await screen.findByRole("heading", { level: 1, name: "First" })).toBeTruthy();
    await user.click(screen.getByRole("button", { name: "Delete" }));
    expect(await screen.findByText("No __pluralWords__ yet. Add the first one.")).toBeTruthy();
    expect(window.location.pathname).toBe("/__plural__");
    expect((await call(backend.api.api__pluralAccess__.$get({ query: {} }))).items).toEqual([]);
  });

  it("lists a page at a time, newest first: the older ones on request", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    await backend.signedIn("Bea");
    for (let i = 1; i <= 21; i++) {
      await call(backend.api.api__pluralAccess__.$post({ json: { title: `Item ${i}` } }));
    }
    await open("/__plural__", backend.api);
    await screen.findByRole("link", { name: "Item 21" });
    const shown = () =>
      within(screen.getByRole("list"))
        .getAllByRole("link")
        .map((link) => link.textContent);
    expect(shown()).toHaveLength(20);
    expect(shown()[0]).toBe("Item 21");
    await user.click(screen.getByRole("button", { name: "Show older __pluralWords__" }));
    await screen.findByRole("link", { name: "Item 1" });
    expect(shown()).toHaveLength(21);
    expect(screen.queryByRole("button", { name: "Show older __pluralWords__" })).toBeNull();
  });

  it("another user's __words__ is the not-found page; a signed-out visitor is sent to log in", async () => {
    const backend = await realApi();
    await backend.signedIn("Cy");
    const { __camel__ } = await call(
      backend.api.api__pluralAccess__.$post({ json: { title: "Private" } }),
    );
    await backend.signedIn("Dee");
    await open(`/__plural__/${__camel__.id}`, backend.api);
    expect(await screen.findByRole("heading", { name: "Not found" })).toBeTruthy();
    expect(screen.queryByText("Private")).toBeNull();

    // No cookie at all: the list sends the visitor to log in.
    await open("/__plural__", backend.as(""));
    await waitFor(() => expect(window.location.pathname).toBe("/login"));
  });
});
