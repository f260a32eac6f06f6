import { cleanup, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PNG } from "../../core/test/fixtures/png";
import { call, safeNext } from "./api";
import { App } from "./app";
import { realApi } from "./test/real-api";

beforeEach(() => window.history.replaceState(null, "", "/signup"));
afterEach(cleanup);

describe("web app", () => {
  it("a signed-in user sees an empty list, writes a note, finds it listed, edits and deletes it", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    await backend.signedIn("Ada");
    window.history.replaceState(null, "", "/");
    render(<App api={backend.api} />);

    expect(await screen.findByText("No notes yet. Write the first one.")).toBeTruthy();
    expect(screen.getByText("Ada")).toBeTruthy();
    await user.click(screen.getByRole("link", { name: "New note" }));
    await user.type(await screen.findByLabelText("Title"), "First note");
    await user.type(screen.getByLabelText("Text"), "Hello");
    await user.click(screen.getByRole("button", { name: "Save" }));

    await user.click(await screen.findByRole("link", { name: "First note" }));
    const title = await screen.findByLabelText("Title");
    expect((title as HTMLInputElement).value).toBe("First note");
    await user.clear(title);
    await user.type(title, "Renamed");
    await user.click(screen.getByRole("button", { name: "Save" }));
    await user.click(await screen.findByRole("link", { name: "Renamed" }));
    await user.click(await screen.findByRole("button", { name: "Delete" }));
    expect(await screen.findByText("No notes yet. Write the first one.")).toBeTruthy();
  });

  it("attachments: a checked file turns from Checking to Ready by polling; a too-large file is refused next to the input", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    await backend.signedIn("Dee");
    const { note } = await call(backend.api.api.notes.$post({ json: { title: "Files" } }));
    const { attachment, upload } = await call(
      backend.api.api.notes[":id"].attachments.$post({
        param: { id: note.id },
        json: { filename: "pixel.png", contentType: "image/png", size: PNG.byteLength },
      }),
    );
    await backend.store(upload.fields.key ?? "", PNG, "image/png");
    await call(backend.api.api.attachments[":id"].complete.$post({ param: { id: attachment.id } }));

    window.history.replaceState(null, "", `/notes/${note.id}`);
    render(<App api={backend.api} />);
    expect(await screen.findByText("Checking…")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Download pixel.png" })).toBeNull();
    await backend.runTasks();
    // No reload: the list polls while a file is being checked.
    expect(await screen.findByText("Ready", {}, { timeout: 5_000 })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Download pixel.png" })).toBeTruthy();

    const input = screen.getByLabelText("Attach a file");
    await user.upload(
      input,
      new File([new Uint8Array(10 * 1024 * 1024 + 1)], "huge.png", { type: "image/png" }),
    );
    const refused = () => screen.getByLabelText("Attach a file");
    await waitFor(() => expect(refused().getAttribute("aria-invalid")).toBe("true"));
    expect(
      document.getElementById(refused().getAttribute("aria-describedby") ?? "")?.textContent,
    ).toBe("This file is too large: must be at most 10 MB");
    // The input is disabled while an upload is under way; it comes back when the attempt ends.
    await waitFor(() => expect(refused().hasAttribute("disabled")).toBe(false));
    await user.upload(refused(), new File([], "empty.txt", { type: "text/plain" }));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toBe("This file is empty"));
    // Refused before any upload form was handed out: still one attachment.
    expect(screen.getAllByRole("listitem")).toHaveLength(1);
  });

  it("an empty title is refused by the API and the error shows next to the field", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    await backend.signedIn("Bea");
    window.history.replaceState(null, "", "/notes/new");
    render(<App api={backend.api} />);
    await user.click(await screen.findByRole("button", { name: "Save" }));
    const title = screen.getByLabelText("Title");
    await waitFor(() => expect(title.getAttribute("aria-invalid")).toBe("true"));
    expect(document.getElementById(title.getAttribute("aria-describedby") ?? "")?.textContent).toBe(
      "must not be empty",
    );
  });

  it("another user's note, or a missing one, is the not-found page", async () => {
    const backend = await realApi();
    await backend.signedIn("Cy");
    window.history.replaceState(null, "", "/notes/not_01ARZ3NDEKTSV4RRFFQ69G5FAV");
    render(<App api={backend.api} />);
    expect(await screen.findByRole("heading", { name: "Not found" })).toBeTruthy();
  });

  it("shows the API's field errors next to their fields, linked for screen readers", async () => {
    const user = userEvent.setup();
    render(<App api={(await realApi()).api} />);
    await user.type(await screen.findByLabelText("Name"), "Bo");
    await user.type(screen.getByLabelText("Email"), "not-an-email");
    await user.type(screen.getByLabelText("Password (8 characters or more)"), "short");
    await user.click(screen.getByRole("button", { name: "Sign up" }));

    const password = screen.getByLabelText("Password (8 characters or more)");
    await waitFor(() => expect(password.getAttribute("aria-invalid")).toBe("true"));
    const describedBy = password.getAttribute("aria-describedby") ?? "";
    expect(document.getElementById(describedBy)?.textContent).toBe("must be at least 8 characters");
    expect(screen.getByLabelText("Email").getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByLabelText("Name").getAttribute("aria-invalid")).toBeNull();
  });

  it("wrong credentials show the API's message as a form error", async () => {
    window.history.replaceState(null, "", "/login");
    const user = userEvent.setup();
    render(<App api={(await realApi()).api} />);
    await user.type(await screen.findByLabelText("Email"), "nobody@example.com");
    await user.type(screen.getByLabelText("Password"), "whatever123");
    await user.click(screen.getByRole("button", { name: "Log in" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Wrong email or password");
  });

  it("sends signed-out visitors of the notes list to log in", async () => {
    window.history.replaceState(null, "", "/");
    render(<App api={(await realApi()).api} />);
    await waitFor(() => expect(window.location.pathname).toBe("/login"));
  });

  it("returns only to paths on this site after logging in", () => {
    expect(safeNext("/notes/not_1")).toBe("/notes/not_1");
    expect(safeNext("//evil.example/x")).toBe("/");
    expect(safeNext("https://evil.example")).toBe("/");
    expect(safeNext(null)).toBe("/");
  });
});
