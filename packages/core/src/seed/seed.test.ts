import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { client, rowCounts, sessionCookie } from "../../test/app";
import { config, loadConfig } from "../config";
import { rollback } from "../db/transaction";
import { DEMO_ATTACHMENT, DEMO_LOGIN, DEMO_NOTES } from "./demo";
import { seed, seedRefusal } from "./seed";

/** Every file under the test's storage directory (objects and their metadata). */
function storedFiles() {
  const settings = config().storage;
  if (settings.kind !== "local") throw new Error("the tests use the local store");
  return readdirSync(settings.dir, { recursive: true, encoding: "utf8" }).sort();
}

describe("seed", () => {
  it("writes a demo account that signs in, its notes and a checked attachment; a second run changes nothing", async () =>
    rollback(async () => {
      expect(await seed()).toMatchObject({ created: true, notes: DEMO_NOTES.length });
      const rows = await rowCounts();
      const files = storedFiles();

      expect(await seed()).toMatchObject({ created: false, email: DEMO_LOGIN.email });
      expect(await rowCounts()).toEqual(rows);
      expect(storedFiles()).toEqual(files);

      // What the demo login shows, through the API as the web app reads it.
      const signin = await client().api.auth.login.$post({
        json: { email: DEMO_LOGIN.email, password: DEMO_LOGIN.password },
      });
      expect(signin.status).toBe(200);
      const api = client(sessionCookie(signin)).api;
      const { notes } = await (await api.notes.$get({ query: { limit: "100" } })).json();
      expect(notes.map((n) => n.title)).toEqual(DEMO_NOTES.map((n) => n.title).reverse());
      const newest = notes[0]?.id ?? "";
      const listed = await (
        await api.notes[":id"].attachments.$get({ param: { id: newest } })
      ).json();
      expect(listed.attachments).toEqual([
        expect.objectContaining({
          filename: DEMO_ATTACHMENT.filename,
          status: "ready",
          sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        }),
      ]);
    }));

  it("refuses a deployed stage and any database not on this machine, saying why", () => {
    const refusal = (env: Record<string, string>, links: object = {}) =>
      seedRefusal(loadConfig({ ...env }, links));
    expect(refusal({ PGLITE_DIR: "/tmp/x" })).toBeUndefined();
    for (const host of ["localhost", "127.0.0.1", "127.0.0.2", "[::1]"]) {
      expect(refusal({ DATABASE_URL: `postgres://u:p@${host}:5432/app` }), host).toBeUndefined();
    }
    expect(refusal({ DATABASE_URL: "postgres://u:p@db.example.com:5432/app" })).toMatch(
      /^Refusing to seed: DATABASE_URL points at db\.example\.com, not this machine, and the seed writes a demo account whose password is published/,
    );
    expect(refusal({ DATABASE_URL: "postgres://u:p@10.0.3.7/app" })).toMatch(
      /points at 10\.0\.3\.7/,
    );
    // `sst shell --stage prod`: linked, even with a loopback URL (a tunnel, a port-forward).
    expect(
      refusal({ DATABASE_URL: "postgres://u:p@localhost/app" }, { App: { stage: "prod" } }),
    ).toMatch(/linked to the deployed stage "prod"/);
  });
});
