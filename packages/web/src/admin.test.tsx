import { cleanup, configure, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { realApi } from "./test/real-api";

afterEach(cleanup);
// Each view waits on the real API in-process (and the first on the console's chunk): on a busy
// machine that can take longer than testing-library's 1 s.
beforeAll(() => configure({ asyncUtilTimeout: 10_000 }));
afterAll(() => configure({ asyncUtilTimeout: 1_000 }));

/**
 * The app on `backend`, at `path`. Imported after realApi(), which boots the API in a fresh module
 * registry: the console's lazy chunk is imported into that registry too, and must find the same
 * ApiContext as the app around it. Loaded here, before rendering, so no test waits on its first
 * transform inside a findBy timeout.
 */
async function renderApp(backend: Awaited<ReturnType<typeof realApi>>, path: string) {
  const [{ App }] = await Promise.all([import("./app"), import("./admin/console")]);
  window.history.replaceState(null, "", path);
  return render(<App api={backend.api} />);
}

/** The table row that holds `text` (once there is one). */
async function rowWith(text: string) {
  const row = await waitFor(() => {
    const found = screen.getAllByRole("row").find((r) => r.textContent?.includes(text));
    if (!found) throw new Error(`no table row holds ${text}`);
    return found;
  });
  return within(row);
}

describe("the operator console (/admin)", { timeout: 90_000 }, () => {
  it("is the not-found page for a member and for a visitor signed out, and the menu has no Console link", async () => {
    const backend = await realApi();
    await renderApp(backend, "/admin");
    expect(await screen.findByRole("heading", { name: "Not found" })).toBeTruthy();
    cleanup();

    await backend.signedIn("Mo");
    await renderApp(backend, "/admin/users");
    expect(await screen.findByRole("heading", { name: "Not found" })).toBeTruthy();
    expect(screen.getByText("Mo")).toBeTruthy(); // signed in, as a member
    expect(screen.queryByRole("link", { name: "Console" })).toBeNull();
    expect(screen.queryByRole("navigation", { name: "Console" })).toBeNull();
  });

  it("an admin finds a user by email, signs them out everywhere (their next request is 401), disables and enables them; a search with no match says so", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    const grace = await backend.signedIn("Grace");
    const root = await backend.signedIn("Root");
    await backend.grantAdmin(root.email);
    await renderApp(backend, "/admin");

    // /admin opens on the users, the console's first section.
    expect(await screen.findByRole("heading", { name: "Users" })).toBeTruthy();
    await waitFor(() => expect(window.location.pathname).toBe("/admin/users"));
    expect(screen.getByRole("link", { name: "Users" }).getAttribute("aria-current")).toBe("page");
    await user.type(screen.getByLabelText("Email starts with"), grace.email);
    await user.click(screen.getByRole("button", { name: "Apply filters" }));
    await screen.findByRole("table", { name: `Users whose email starts with “${grace.email}”` });
    // The caption changes with the filter; the rows when the filtered page arrives (on Postgres
    // after the caption: the previous page stays on screen until then).
    await waitFor(() => expect(screen.queryAllByText(root.email)).toHaveLength(0));
    let row = await rowWith(grace.email);
    expect(row.getByText("Not verified")).toBeTruthy();
    expect(row.getByText("member")).toBeTruthy();
    expect(row.getByText("1")).toBeTruthy(); // one live session

    await user.click(row.getByRole("button", { name: `Revoke sessions… ${grace.email}` }));
    // Asked first: the confirming button has the focus.
    const confirm = row.getByRole("button", { name: `Sign out everywhere ${grace.email}` });
    expect(document.activeElement).toBe(confirm);
    await user.click(confirm);
    expect(
      await screen.findByText(`${grace.email} is signed out everywhere (1 session ended).`),
    ).toBeTruthy();
    expect((await backend.as(grace.cookie).api.auth.me.$get()).status).toBe(401);
    row = await rowWith(grace.email);
    await waitFor(() => expect(row.getByText("0")).toBeTruthy());

    await user.click(row.getByRole("button", { name: `Disable… ${grace.email}` }));
    await user.click(row.getByRole("button", { name: `Disable the account ${grace.email}` }));
    expect(
      await screen.findByText(`${grace.email} is disabled: they cannot sign in.`),
    ).toBeTruthy();
    row = await rowWith(grace.email);
    await waitFor(() => expect(row.getByText(/^Disabled /)).toBeTruthy());
    await user.click(row.getByRole("button", { name: `Enable ${grace.email}` }));
    expect(await screen.findByText(`${grace.email} can sign in again.`)).toBeTruthy();
    await waitFor(() => expect(row.getByText("Active")).toBeTruthy());

    const search = screen.getByLabelText("Email starts with");
    await user.clear(search);
    await user.type(search, "nobody-here{Enter}");
    expect(await screen.findByText("No user's email starts with “nobody-here”.")).toBeTruthy();
    expect(screen.queryByRole("table")).toBeNull();
    await user.click(screen.getByRole("button", { name: "Clear filters" }));
    expect((await rowWith(root.email)).getByText("admin")).toBeTruthy();
  });

  it("tables: the app's tables from its modules; a table's rows with its secrets shown as hidden, filtered on an indexed column, and none matching says so", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    const root = await backend.signedIn("Root");
    await backend.grantAdmin(root.email);
    await renderApp(backend, "/admin/tables");

    const tables = await screen.findByRole("table", { name: "The app's tables" });
    expect(within(tables).getByRole("link", { name: "note" })).toBeTruthy();
    expect(within(tables).getByRole("link", { name: "admin_audit" })).toBeTruthy();
    await user.click(within(tables).getByRole("link", { name: "user" }));
    expect(await screen.findByRole("heading", { name: "Table user" })).toBeTruthy();
    const row = await rowWith(root.email);
    // The password hash is a column whose cell says hidden, and its value is nowhere on the page.
    expect(row.getByText("hidden")).toBeTruthy();
    expect(document.body.textContent).not.toMatch(/scrypt|argon|\$2[aby]\$/);

    const email = screen.getByLabelText(/^email starts with/);
    await user.type(email, "no-such-address");
    await user.click(screen.getByRole("button", { name: "Apply filters" }));
    expect(await screen.findByText("No row matches these filters.")).toBeTruthy();
    await user.clear(email);
    await user.type(email, root.email.slice(0, 8));
    await user.click(screen.getByRole("button", { name: "Apply filters" }));
    expect(await screen.findByText(root.email)).toBeTruthy();
  });

  it("the audit log pages by its cursor: Next shows the older entries, Previous the newer again", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    const root = await backend.signedIn("Root");
    await backend.grantAdmin(root.email);
    const Audit = await import("../../core/src/admin/audit");
    // 55 entries with the grant: one page of 50, then 5.
    await Audit.as({ userID: null, label: "cli:web-test" }, async () => {
      for (let i = 0; i < 54; i++) await Audit.record({ action: "probe.action", target: `t-${i}` });
    });
    await renderApp(backend, "/admin/audit");

    const table = await screen.findByRole("table", { name: "Operator actions, newest first" });
    // Header row + 50.
    expect(within(table).getAllByRole("row")).toHaveLength(51);
    expect(within(table).getByText("t-53")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Previous page" }).hasAttribute("disabled")).toBe(
      true,
    );
    await user.click(screen.getByRole("button", { name: "Next page" }));
    expect(await screen.findByText("Page 2")).toBeTruthy();
    await waitFor(() => expect(screen.getAllByRole("row")).toHaveLength(6));
    expect(screen.getByText("user.grant-admin")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Next page" }).hasAttribute("disabled")).toBe(true);
    await user.click(screen.getByRole("button", { name: "Previous page" }));
    expect(await screen.findByText("Page 1")).toBeTruthy();
    expect(await screen.findByText("t-53")).toBeTruthy();
  });

  it("tasks: a dead letter with its payload and last error is redriven and runs; another is discarded after a confirmation; then none is left, and both actions are audited", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    const root = await backend.signedIn("Root");
    await backend.grantAdmin(root.email);
    await backend.runTasks(); // the sign-up's mail: nothing else on the queue
    // Two dead letters as the worker leaves them: on the dead-letter queue, their failure recorded.
    const [{ createLocalQueue }, { LOCAL_DEAD_LETTER_QUEUE }, { recordFailure }] =
      await Promise.all([
        import("../../core/src/task/local-queue"),
        import("../../core/src/task/runtime"),
        import("../../core/src/task/task-run"),
      ]);
    const deadLetters = createLocalQueue({
      queue: LOCAL_DEAD_LETTER_QUEUE,
      deadLetterQueue: `${LOCAL_DEAD_LETTER_QUEUE}-unused`,
      maxReceiveCount: 5,
      visibilityTimeoutSeconds: 30,
    });
    for (const id of ["tsk_redriven", "tsk_discarded"]) {
      await deadLetters.sendRaw(JSON.stringify({ task: "maintenance.cleanup", payload: {}, id }));
      const failure = new Error(`the disk is full (${id})`);
      await recordFailure({ id, task: "maintenance.cleanup", attempt: 5 }, failure, new Date());
    }
    await renderApp(backend, "/admin/tasks");

    expect(await screen.findByRole("heading", { name: "Tasks" })).toBeTruthy();
    expect(await screen.findByText("Oldest dead letter", {}, { timeout: 5_000 })).toBeTruthy();
    const redriven = await rowWith("tsk_redriven");
    expect(redriven.getByText("Error: the disk is full (tsk_redriven)")).toBeTruthy();
    expect(redriven.getByText("{}")).toBeTruthy(); // the payload
    await user.click(redriven.getByRole("button", { name: /^Redrive maintenance\.cleanup/ }));
    expect(await screen.findByText("maintenance.cleanup is back on the queue.")).toBeTruthy();
    await waitFor(() =>
      expect(screen.getAllByRole("row").some((r) => r.textContent?.includes("tsk_redriven"))).toBe(
        false,
      ),
    );
    await backend.runTasks(); // every task on the queue must succeed: the redriven one ran

    const discarded = await rowWith("tsk_discarded");
    await user.click(discarded.getByRole("button", { name: /^Discard… maintenance\.cleanup/ }));
    await user.click(
      discarded.getByRole("button", { name: /^Discard for good maintenance\.cleanup/ }),
    );
    expect(await screen.findByText("maintenance.cleanup was discarded.")).toBeTruthy();
    expect(
      await screen.findByText(
        "No dead letters: every task that failed has run since, or none failed.",
      ),
    ).toBeTruthy();

    await user.click(screen.getByRole("link", { name: "Audit log" }));
    const audit = await screen.findByRole("table", { name: "Operator actions, newest first" });
    expect(within(audit).getByText("task.redrive")).toBeTruthy();
    expect(within(audit).getByText("task.discard")).toBeTruthy();
  });

  it("schedules: each with its expression, time zone and next three runs; Run now queues it and its last run shows; mail shows each message's status, and an attachments filter with no match says so", async () => {
    const user = userEvent.setup();
    const backend = await realApi();
    const root = await backend.signedIn("Root");
    await backend.grantAdmin(root.email);
    await renderApp(backend, "/admin/schedules");

    const schedule = await rowWith("maintenance-cleanup-hourly");
    expect(schedule.getAllByRole("listitem")).toHaveLength(3);
    expect(schedule.getByText("Never")).toBeTruthy();
    await user.click(schedule.getByRole("button", { name: "Run now maintenance-cleanup-hourly" }));
    expect(
      await screen.findByText(/^maintenance-cleanup-hourly is queued to run now \(task /),
    ).toBeTruthy();
    await backend.runTasks();
    // The view polls: the run's outcome comes without a reload.
    await waitFor(
      async () =>
        expect((await rowWith("maintenance-cleanup-hourly")).getByText("succeeded")).toBeTruthy(),
      { timeout: 10_000 },
    );

    await user.click(screen.getByRole("link", { name: "Mail" }));
    const mail = await rowWith(root.email); // the sign-up's verification mail, sent by runTasks
    expect(mail.getByText("sent")).toBeTruthy();

    await user.click(screen.getByRole("link", { name: "Attachments" }));
    expect(await screen.findByText("No files have been attached yet.")).toBeTruthy();
    await user.selectOptions(screen.getByLabelText("Status"), "rejected");
    await user.click(screen.getByRole("button", { name: "Apply filters" }));
    expect(await screen.findByText("No attachments with this status.")).toBeTruthy();
  });
});
