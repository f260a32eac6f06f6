import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { signupAdmin } from "../../test/admin";
import { as, rowCounts, signupUser } from "../../test/app";
import { errorOf, issuesOf, jsonRequest } from "../../test/http";
import { Account } from "../account";
import { withActor } from "../actor";
import { app } from "../api";
import { queryRows } from "../db/client";
import { createTransaction, rollback, useTransaction } from "../db/transaction";
import { Note } from "../note";
import { MAX_TEXT_ISSUES, textProblem, unstorableText } from "./text";

const NUL = "\u0000";
const HIGH = "\uD800";
const LOW = "\uDFFF";
const undo = Symbol("undo");

/** Runs `fn` in a savepoint rolled back afterwards: a failed statement spoils nothing after it. */
async function inSavepoint<T>(fn: () => Promise<T>): Promise<T> {
  let result: T | undefined;
  await createTransaction(async () => {
    result = await fn();
    throw undo;
  }).catch((error: unknown) => {
    if (error !== undo) throw error;
  });
  return result as T;
}

/** What this database gives back for `value` as a text (or jsonb) parameter, or its error. */
async function roundTrip(value: string, type: "text" | "jsonb") {
  return inSavepoint(async () => {
    try {
      const query =
        type === "text"
          ? sql`select ${value}::text as v`
          : sql`select (${JSON.stringify(value)}::jsonb) #>> '{}' as v`;
      const [row] = await useTransaction((tx) => queryRows<{ v: string }>(tx, query));
      return { stored: row?.v };
    } catch (error) {
      return { error };
    }
  });
}

describe("what the database cannot store", () => {
  const storable = [
    "",
    "plain",
    "\u0001\u001f\u007f\u0080\u009f", // controls
    "\uFFFD\uFFFE\uFFFF\u{10FFFF}", // the replacement character, noncharacters, the last code point
    "😀 \u{1F468}\u200D\u{1F469} 𝄞", // astral planes: surrogate pairs, in order
    "\u202E\u200B\uFEFF", // bidi override, zero width, BOM
  ];

  it.each(storable.map((value) => [JSON.stringify(value), value]))(
    "%s round-trips exactly, as text and as jsonb, and passes the check",
    async (_, value) => {
      expect(textProblem(value)).toBeUndefined();
      await rollback(async () => {
        expect(await roundTrip(value, "text")).toEqual({ stored: value });
        expect(await roundTrip(value, "jsonb")).toEqual({ stored: value });
      });
    },
  );

  it.each([
    ["U+0000", `a${NUL}b`, "must not contain U+0000 (NUL)"],
    ["a lone high surrogate", `a${HIGH}`, /unpaired surrogate/],
    ["a lone low surrogate", `${LOW}b`, /unpaired surrogate/],
    ["a pair in the wrong order", `${LOW}${HIGH}`, /unpaired surrogate/],
    ["both", `${NUL}${HIGH}`, /U\+0000 \(NUL\) or an unpaired surrogate/],
  ])("%s is refused by the check, and is not kept as sent", async (_, value, message) => {
    expect(textProblem(value)).toMatch(message);
    await rollback(async () => {
      // Postgres refuses NUL; a lone surrogate the driver sends as U+FFFD, which text keeps (another
      // string) and jsonb refuses. Either way the database does not hold what was sent.
      for (const type of ["text", "jsonb"] as const) {
        const result = await roundTrip(value, type);
        expect(result.stored, `${type} ${JSON.stringify(result.stored)}`).not.toBe(value);
      }
    });
  });
});

describe("unstorableText", () => {
  it("names every bad string and key, in document order, by its path", () => {
    const input = {
      ok: "fine 😀",
      title: `a${NUL}`,
      [`key${NUL}`]: "value is fine",
      [`both${HIGH}`]: `and${LOW}`,
      list: ["ok", HIGH, { deep: [[`x${NUL}`]] }],
      n: 1,
      nothing: null,
    };
    expect(unstorableText(input)).toEqual([
      { path: ["title"], message: "must not contain U+0000 (NUL)" },
      { path: [`key${NUL}`], message: "field name must not contain U+0000 (NUL)" },
      { path: [`both${HIGH}`], message: expect.stringMatching(/^field name .*surrogate/) },
      { path: [`both${HIGH}`], message: expect.stringMatching(/^must not .*surrogate/) },
      { path: ["list", 1], message: expect.stringMatching(/surrogate/) },
      { path: ["list", 2, "deep", 0, 0], message: "must not contain U+0000 (NUL)" },
    ]);
    expect(unstorableText(NUL)).toEqual([{ path: [], message: "must not contain U+0000 (NUL)" }]);
    expect(unstorableText({ a: ["b", { c: "😀" }], d: 2, e: true })).toEqual([]);
  });

  it("is bounded: at most MAX_TEXT_ISSUES, and long paths stop it after the first", () => {
    expect(unstorableText(Array(1000).fill(NUL))).toHaveLength(MAX_TEXT_ISSUES);
    const long = "k".repeat(20_000);
    const issues = unstorableText({ [long]: [NUL, NUL, NUL] });
    expect(issues).toEqual([{ path: [long, 0], message: "must not contain U+0000 (NUL)" }]);
  });

  it("walks any depth without overflowing the stack", () => {
    let deep: unknown = NUL;
    for (let level = 0; level < 200_000; level++) deep = [deep];
    const [issue, ...rest] = unstorableText(deep);
    expect(rest).toEqual([]);
    expect(issue?.path).toHaveLength(200_000);
  });
});

describe("text the database cannot store is a 400 naming the field, and nothing is written", () => {
  it("signup with U+0000 in the name (the reported case)", async () =>
    rollback(async () => {
      const before = await rowCounts();
      const response = await app.request(
        "/api/auth/signup",
        jsonRequest({ email: "nul@example.com", password: "a strong password", name: "a\u0000b" }),
      );
      expect(response.status).toBe(400);
      const error = await errorOf(response.clone());
      expect(error.code).toBe("validation_failed");
      expect(error.details?.issues).toEqual([
        { path: "name", message: "must not contain U+0000 (NUL)" },
      ]);
      expect(await rowCounts()).toEqual(before);
    }));

  it("a note with U+0000 in the title (the reported case)", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const before = await rowCounts();
      const response = await as(cookie).send("POST", "/api/notes", { title: "a\u0000b" });
      expect(response.status).toBe(400);
      expect((await errorOf(response.clone())).code).toBe("validation_failed");
      expect(await issuesOf(response)).toEqual(["title"]);
      expect(await rowCounts()).toEqual(before);
    }));

  it("lone surrogates in a note, a NUL in a path parameter and in a query string", async () =>
    rollback(async () => {
      const { cookie } = await signupUser();
      const { note } = (await (
        await as(cookie).send("POST", "/api/notes", { title: "mine" })
      ).json()) as { note: { id: string } };
      const before = await rowCounts();
      const user = as(cookie);

      const lone = await user.send("POST", "/api/notes", { title: `x${HIGH}`, body: LOW });
      expect(lone.status).toBe(400);
      expect(await issuesOf(lone)).toEqual(["title", "body"]);
      const patch = await user.send("PATCH", `/api/notes/${note.id}`, { body: `${LOW}${HIGH}` });
      expect(await issuesOf(patch)).toEqual(["body"]);
      const param = await user.get("/api/notes/a%00b");
      expect(param.status).toBe(400);
      expect(await issuesOf(param)).toEqual(["id"]);
      const query = await user.get(`/api/notes?cursor=${note.id}%00`);
      expect(query.status).toBe(400);
      expect(await issuesOf(query)).toEqual(["cursor", "cursor"]); // not a note id, and the NUL

      expect(await rowCounts()).toEqual(before);
      const stored = (await (await user.get(`/api/notes/${note.id}`)).json()) as {
        note: { body: string };
      };
      expect(stored.note.body).toBe("");
    }));

  it("on every route that takes input, found from the OpenAPI document", async () =>
    rollback(async () => {
      // An admin: the console's routes refuse a member with 403 before reading any input.
      const { cookie } = await signupAdmin();
      const { note } = (await (
        await as(cookie).send("POST", "/api/notes", { title: "mine" })
      ).json()) as { note: { id: string } };
      const doc = (await (await app.request("/api/openapi.json")).json()) as {
        paths: Record<string, Record<string, Operation>>;
      };
      const before = await rowCounts();
      let checked = 0;

      for (const [template, operations] of Object.entries(doc.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          const params = operation.parameters ?? [];
          const fill = (bad?: string) =>
            template.replace(/\{(\w+)\}/g, (_, name) => (name === bad ? "a%00b" : note.id));
          const verb = method.toUpperCase();
          const send = (path: string, body: unknown = {}) =>
            app.request(
              path,
              verb === "GET"
                ? { headers: { cookie } }
                : jsonRequest(body, { method: verb, headers: { cookie } }),
            );
          const label = `${verb} ${template}`;

          for (const { name } of params.filter((p) => p.in === "path")) {
            const response = await send(fill(name));
            expect(response.status, `${label}: path ${name}`).toBe(400);
            expect(await issuesOf(response), label).toContain(name);
            checked++;
          }
          if (params.some((p) => p.in === "query")) {
            const response = await send(`${fill()}?q=%00`);
            expect(response.status, `${label}: query`).toBe(400);
            expect(await issuesOf(response), label).toContain("q");
            checked++;
          }
          if (operation.requestBody) {
            const response = await send(fill(), { [`k${NUL}`]: 1, v: [HIGH] });
            expect(response.status, `${label}: body`).toBe(400);
            expect(await issuesOf(response), label).toEqual(
              expect.arrayContaining([`k${NUL}`, "v.0"]),
            );
            checked++;
          }
        }
      }
      // Today: 8 path parameters (notes, attachments), 1 query (the notes list), 6 bodies (signup,
      // login, note create and patch, attachment create, dev run).
      expect(checked).toBeGreaterThanOrEqual(15);
      expect(await rowCounts()).toEqual(before);
    }));
});

interface Operation {
  parameters?: { in: string; name: string }[];
  requestBody?: unknown;
}

describe("domain functions refuse it too (tasks and scripts do not pass through HTTP)", () => {
  it("Note.create and Account.signup throw a ZodError naming the field, before any write", async () =>
    rollback(async () => {
      const { user } = await signupUser();
      const before = await rowCounts();
      const created = withActor({ type: "user", userID: user.id }, () =>
        Note.create({ title: `t${NUL}`, body: HIGH }),
      );
      await expect(created).rejects.toBeInstanceOf(ZodError);
      await expect(created).rejects.toMatchObject({
        issues: [
          { path: ["title"], message: "must not contain U+0000 (NUL)" },
          { path: ["body"], message: expect.stringMatching(/surrogate/) },
        ],
      });
      await expect(
        Account.signup({ email: "x@example.com", password: `pass${LOW}word`, name: "n" }),
      ).rejects.toMatchObject({ issues: [{ path: ["password"] }] });
      expect(await rowCounts()).toEqual(before);
    }));
});
