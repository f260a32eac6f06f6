import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiError, call } from "./api";
import { App } from "./app";
import { realApi } from "./test/real-api";
import { statusShows } from "./test/status";

/** The account pages (issue 17) against the real API in-process: the mailed links, the forms. */

beforeEach(() => window.history.replaceState(null, "", "/"));
afterEach(cleanup);

const open = (path: string, api: Parameters<typeof App>[0]["api"]) => {
  cleanup();
  window.history.replaceState(null, "", path);
  render(<App api={api} />);
};

/** The message next to a field, once the field is marked invalid: the one its aria-describedby names. */
async function errorOf(field: () => HTMLElement) {
  await waitFor(() => expect(field().getAttribute("aria-invalid")).toBe("true"));
  return document.getElementById(field().getAttribute("aria-describedby") ?? "")?.textContent;
}

const region = (name: string) => within(screen.getByRole("region", { name }));

/** The API's answer to a request with another device's cookie: its status, or 200. */
const statusOf = async (request: Promise<unknown>) =>
  request.then(
    () => 200,
    (error) => (error instanceof ApiError ? error.status : 0),
  );

describe("account pages", () => {
  it("a verify link that no longer works offers a new one; the new mail's link confirms the address, shown as Verified", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    const { email } = await backend.signedIn("Eve");
    open("/verify-email#token=not-a-token", backend.api);
    expect((await screen.findByRole("alert")).textContent).toBe(
      "This link is unknown, used or expired; ask for a new one",
    );
    await user.click(await screen.findByRole("button", { name: "Send a new link" }));
    await statusShows(screen, `A new link is on its way to ${email}.`);

    open(`/verify-email#token=${await backend.mailedToken(email, "/verify-email")}`, backend.api);
    await statusShows(screen, `${email} is confirmed. Thank you.`);
    await user.click(screen.getByRole("link", { name: "Account" }));
    expect(await region("Profile").findByText("Verified")).toBeTruthy();
    // Verified: no button to ask for another link.
    expect(region("Profile").queryByRole("button")).toBeNull();
  });

  it("forgot password → the mailed reset link sets a new password and signs in; the old session is gone, and the link works once", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    const { email, cookie: before } = await backend.signedIn("Fay");
    const other = await backend.otherDevice(email, "a strong password");
    open("/login", backend.api);
    await user.click(await screen.findByRole("link", { name: "Forgot your password?" }));
    await user.type(await screen.findByLabelText("Email"), "not an address");
    await user.click(screen.getByRole("button", { name: "Send the link" }));
    expect(await errorOf(() => screen.getByLabelText("Email"))).toBe("must be an email address");
    await user.clear(screen.getByLabelText("Email"));
    await user.type(screen.getByLabelText("Email"), email);
    await user.click(screen.getByRole("button", { name: "Send the link" }));
    await statusShows(screen, `If an account has the address ${email}, a link`, "contains");

    const token = await backend.mailedToken(email, "/reset-password");
    open(`/reset-password#token=${token}`, backend.api);
    const password = () => screen.getByLabelText("New password (8 characters or more)");
    await user.type(await screen.findByLabelText("New password (8 characters or more)"), "short");
    await user.click(screen.getByRole("button", { name: "Set the password and log in" }));
    expect(await errorOf(password)).toBe("must be at least 8 characters");
    await user.clear(password());
    await user.type(password(), "a new strong password");
    await user.click(screen.getByRole("button", { name: "Set the password and log in" }));
    // Signed in with a new session, on the notes list.
    expect(await screen.findByRole("heading", { name: "Your notes" })).toBeTruthy();
    expect(backend.cookie()).not.toBe(before);
    // Both earlier sessions, this browser's and the other device's, are gone.
    expect(await statusOf(call(backend.as(before).api.auth.me.$get()))).toBe(401);
    expect(await statusOf(call(backend.as(other).api.auth.me.$get()))).toBe(401);
    expect(await statusOf(call(backend.api.api.auth.me.$get()))).toBe(200);

    open(`/reset-password#token=${token}`, backend.api);
    await user.type(password(), "yet another password");
    await user.click(screen.getByRole("button", { name: "Set the password and log in" }));
    expect((await screen.findByRole("alert")).textContent).toBe(
      "This link is unknown, used or expired; ask for a new one",
    );
    expect(screen.getByRole("link", { name: "Ask for a new link" }).getAttribute("href")).toBe(
      "/forgot-password",
    );
  });

  it("the account page: name, address not verified; sessions signed out one by one, then everywhere else", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    const { email, password } = await backend.signedIn("Gus");
    await backend.otherDevice(email, password);
    await backend.otherDevice(email, password);
    open("/", backend.api);
    await user.click(await screen.findByRole("link", { name: "Account" }));
    expect(await screen.findByRole("heading", { name: "Your account" })).toBeTruthy();
    expect(region("Profile").getByText(email)).toBeTruthy();
    expect(region("Profile").getByText("Not verified")).toBeTruthy();

    const sessions = () => region("Where you are signed in");
    await waitFor(() => expect(sessions().getAllByRole("listitem")).toHaveLength(3));
    const [first] = sessions()
      .getAllByRole("listitem")
      .filter((row) => row.textContent?.includes("Firefox on Android"));
    await user.click(within(first as HTMLElement).getByRole("button", { name: /^Sign out / }));
    await waitFor(() => expect(sessions().getAllByRole("listitem")).toHaveLength(2));
    await user.click(sessions().getByRole("button", { name: "Sign out everywhere else" }));
    await waitFor(() => expect(sessions().getAllByRole("listitem")).toHaveLength(1));
    expect(sessions().getByText("(this device)", { exact: false })).toBeTruthy();
    expect(sessions().queryByRole("button", { name: "Sign out everywhere else" })).toBeNull();
  });

  it("change password: a wrong current password is shown next to its field (still signed in); a change signs out the other devices", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    const { email, password } = await backend.signedIn("Kim");
    const other = await backend.otherDevice(email, password);
    open("/account", backend.api);
    await screen.findByRole("heading", { name: "Your account" });
    const sessions = () => region("Where you are signed in");
    await waitFor(() => expect(sessions().getAllByRole("listitem")).toHaveLength(2));
    const form = () => region("Change your password");
    await user.type(form().getByLabelText("Current password"), "not my password");
    await user.type(form().getByLabelText("New password (8 characters or more)"), "new password 1");
    await user.click(form().getByRole("button", { name: "Change password" }));
    // A 401 for the password, not for the session: still here, the error by its field.
    expect(await errorOf(() => form().getByLabelText("Current password"))).toBe("Wrong password");
    expect(window.location.pathname).toBe("/account");

    await user.clear(form().getByLabelText("Current password"));
    await user.type(form().getByLabelText("Current password"), password);
    await user.click(form().getByRole("button", { name: "Change password" }));
    await statusShows(form(), "Password changed. Every other device is signed out.");
    expect(await statusOf(call(backend.as(other).api.auth.me.$get()))).toBe(401);
    await waitFor(() => expect(sessions().getAllByRole("listitem")).toHaveLength(1));
  });

  it("change email: a taken address is answered as a free one is and gets no link (no enumeration); the link mailed to a free one moves the account", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    const { email: taken } = await backend.signedIn("Hal");
    const { password } = await backend.signedIn("Ida");
    open("/account", backend.api);
    await screen.findByRole("heading", { name: "Your account" });
    const form = () => region("Change your email address");
    await user.type(form().getByLabelText("New email"), taken);
    await user.type(form().getByLabelText("Current password"), password);
    await user.click(form().getByRole("button", { name: "Send a confirmation link" }));
    await statusShows(
      form(),
      `A link is on its way to ${taken}. Your address changes when you open it.`,
    );
    await backend.runTasks();
    const { Mail } = await import("../../core/src/mail");
    const links = (await Mail.devMailbox()).filter(
      (m) => m.to === taken && m.text.includes("/confirm-email#token="),
    );
    expect(links).toEqual([]);

    const moved = `ida.moved.${Date.now()}@example.com`;
    await user.clear(form().getByLabelText("New email"));
    await user.type(form().getByLabelText("New email"), moved);
    await user.clear(form().getByLabelText("Current password"));
    await user.type(form().getByLabelText("Current password"), password);
    await user.click(form().getByRole("button", { name: "Send a confirmation link" }));
    await statusShows(
      form(),
      `A link is on its way to ${moved}. Your address changes when you open it.`,
    );

    open(`/confirm-email#token=${await backend.mailedToken(moved, "/confirm-email")}`, backend.api);
    await statusShows(screen, `Your account's address is now ${moved}.`);
    await user.click(screen.getByRole("link", { name: "Account" }));
    expect(await region("Profile").findByText(moved)).toBeTruthy();
    expect(region("Profile").getByText("Verified")).toBeTruthy();
  });

  it("delete account: asks for the password (a wrong one is refused by its field), then signs out to the login page, and the account cannot log in", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    const { email, password } = await backend.signedIn("Jo");
    open("/account", backend.api);
    await screen.findByRole("heading", { name: "Your account" });
    const danger = () => region("Delete your account");
    await user.click(danger().getByRole("button", { name: "Delete account…" }));
    const confirm = () => danger().getByLabelText("Your password, to confirm");
    // The password field takes the focus as the confirmation opens.
    expect(document.activeElement).toBe(confirm());
    await user.type(confirm(), "not my password");
    await user.click(danger().getByRole("button", { name: "Delete my account for good" }));
    expect(await errorOf(confirm)).toBe("Wrong password");

    await user.clear(confirm());
    await user.type(confirm(), password);
    await user.click(danger().getByRole("button", { name: "Delete my account for good" }));
    expect(await screen.findByRole("heading", { name: "Log in" })).toBeTruthy();
    expect(screen.getByRole("status").textContent).toBe("Your account has been deleted.");
    expect(backend.cookie()).toBe("");

    await user.type(screen.getByLabelText("Email"), email);
    await user.type(screen.getByLabelText("Password"), password);
    await user.click(screen.getByRole("button", { name: "Log in" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Wrong email or password");
  });

  it("sends a signed-out visitor of the account page to log in, and back after", async () => {
    open("/account", (await realApi()).api);
    await waitFor(() => expect(window.location.pathname).toBe("/login"));
    expect(window.location.search).toBe("?next=%2Faccount");
  });
});
