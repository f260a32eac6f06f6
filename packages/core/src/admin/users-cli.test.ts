import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { client, signupUser } from "../../test/app";
import { repoRoot } from "../config";
import { rollback } from "../db/transaction";
import * as Audit from "./audit";
import { USAGE, usersCommand } from "./users-cli";

const cli = { userID: null, label: "cli:tester" };

describe("npm run users", () => {
  it("grant-admin makes the user an admin (the console opens), revoke-admin a member again; both audited as the CLI", async () =>
    rollback(async () => {
      const user = await signupUser();
      const tables = () => client(user.cookie).api.admin.tables.$get();
      expect((await tables()).status).toBe(403);
      expect(await usersCommand(["grant-admin", user.email.toUpperCase()], cli)).toBe(
        `${user.email}: member → admin`,
      );
      expect((await tables()).status).toBe(200);
      expect(await usersCommand(["grant-admin", user.email], cli)).toMatch(/an admin already/);
      expect(await usersCommand(["revoke-admin", user.email], cli)).toBe(
        `${user.email}: admin → member`,
      );
      expect((await tables()).status).toBe(403);
      const { entries } = await Audit.list({ limit: 3 });
      expect(entries.map((e) => [e.action, e.actor, e.actorUserId, e.target, e.requestId])).toEqual(
        [
          ["user.revoke-admin", "cli:tester", null, user.user.id, null],
          ["user.grant-admin", "cli:tester", null, user.user.id, null],
          ["user.grant-admin", "cli:tester", null, user.user.id, null],
        ],
      );
      expect(entries[0]?.details).toEqual({ email: user.email, before: "admin", after: "member" });
    }));

  it("an unknown email, or a command it does not know, is refused with the reason and writes nothing", async () =>
    rollback(async () => {
      await expect(usersCommand(["grant-admin", "nobody@example.com"], cli)).rejects.toThrow(
        "No account has the email nobody@example.com",
      );
      await expect(usersCommand(["grant-admin", "not an email"], cli)).rejects.toThrow();
      for (const args of [
        [],
        ["grant-admin"],
        ["promote", "a@b.c"],
        ["grant-admin", "a@b.c", "x"],
      ]) {
        await expect(usersCommand(args, cli)).rejects.toThrow(USAGE);
      }
      expect((await Audit.list({})).entries).toEqual([]);
    }));

  it("the script, on a fresh embedded database it owns (migrated first): an unknown email exits 1 naming it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "slipway-users-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([key]) =>
          !key.startsWith("VITEST") && key !== "SLIPWAY_TEST_ARGON2" && key !== "NODE_OPTIONS",
      ),
    );
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "scripts/users.ts", "grant-admin", "nobody@example.com"],
      {
        cwd: repoRoot,
        env: {
          ...env,
          DATABASE_URL: "",
          MIGRATE_ON_BOOT: "",
          PGLITE_DIR: path.join(dir, "pglite"),
          LOG_LEVEL: "error",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(output).toContain("No account has the email nobody@example.com");
    expect(code).toBe(1);
  }, 120_000);
});
