import { describe, expect, it } from "vitest";
import { client, rowCounts, signupUser } from "../../test/app";
import { isolated } from "../../test/database";
import { errorOf, jsonRequest } from "../../test/http";
import { app } from "../api";
import { rollback } from "../db/transaction";

const valid = { email: "someone@example.com", password: "a strong password", name: "Someone" };

/** Every field × every kind of bad value. Each must be a 400 naming the field, writing nothing. */
const cases: [string, Record<string, unknown>, string][] = [
  ...(["email", "password", "name"] as const).flatMap(
    (field): [string, Record<string, unknown>, string][] => {
      const without = Object.fromEntries(Object.entries(valid).filter(([key]) => key !== field));
      return [
        [`${field} missing`, without, field],
        [`${field} a number`, { ...valid, [field]: 42 }, field],
        [`${field} null`, { ...valid, [field]: null }, field],
        [`${field} an array`, { ...valid, [field]: [valid[field]] }, field],
        [`${field} empty`, { ...valid, [field]: "" }, field],
      ];
    },
  ),
  ["email too long", { ...valid, email: `${"a".repeat(250)}@example.com` }, "email"],
  ["email not an address", { ...valid, email: "not-an-email" }, "email"],
  ["email with spaces inside", { ...valid, email: "some one@example.com" }, "email"],
  ["password too short", { ...valid, password: "1234567" }, "password"],
  ["password too long", { ...valid, password: "x".repeat(257) }, "password"],
  ["name only whitespace", { ...valid, name: " \t\n " }, "name"],
  ["name too long", { ...valid, name: "n".repeat(101) }, "name"],
  // Limits count Unicode code points (zod 4), not UTF-16 units or bytes.
  ["name of 101 emoji", { ...valid, name: "😀".repeat(101) }, "name"],
];

// Input that is invalid on purpose goes through app.request: the typed client would not compile it.
describe("auth: bad input", () => {
  it.each(cases)("signup, %s: 400 naming the field, nothing written", async (_, body, field) =>
    isolated(async () => {
      const before = await rowCounts();
      const response = await app.request("/api/auth/signup", jsonRequest(body));
      expect(response.status).toBe(400);
      const error = await errorOf(response);
      expect(error.code).toBe("validation_failed");
      expect(error.details?.issues?.map((issue) => issue.path)).toContain(field);
      expect(await rowCounts()).toEqual(before);
    }),
  );

  it("signup with an unexpected extra field: 400 naming it, nothing written", async () =>
    rollback(async () => {
      const before = await rowCounts();
      const response = await app.request(
        "/api/auth/signup",
        jsonRequest({ ...valid, isAdmin: true }),
      );
      expect(response.status).toBe(400);
      expect(JSON.stringify(await response.json())).toContain("isAdmin");
      expect(await rowCounts()).toEqual(before);
    }));

  it("accepts unicode within the limits, verbatim: 100 emoji, combining marks, right-to-left", async () =>
    rollback(async () => {
      for (const name of ["😀".repeat(100), "Zoë Ångström", "e\u0301", "שלום"]) {
        const response = await client().api.auth.signup.$post({
          json: { ...valid, email: `${name.length}${Math.random()}@example.com`, name },
        });
        expect(response.status).toBe(201);
        expect((await response.json()).user.name).toBe(name);
      }
    }));

  it("a taken email (in another letter case): 409, nothing written", async () =>
    rollback(async () => {
      const { email } = await signupUser();
      const before = await rowCounts();
      const response = await client().api.auth.signup.$post({
        json: { ...valid, email: email.toUpperCase() },
      });
      expect(response.status).toBe(409);
      expect(await response.json()).toMatchObject({
        error: { code: "conflict", details: { field: "email" } },
      });
      expect(await rowCounts()).toEqual(before);
    }));

  it("login: an unknown email and a wrong password get the same 401", async () =>
    rollback(async () => {
      const { email } = await signupUser();
      const login = client().api.auth.login;
      const wrong = await login.$post({ json: { email, password: "not the password" } });
      const unknown = await login.$post({
        json: { email: "nobody@example.com", password: "whatever123" },
      });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(await wrong.json()).toEqual(await unknown.json());
    }));

  it("login: missing fields and extra fields are 400", async () =>
    rollback(async () => {
      expect(
        (await app.request("/api/auth/login", jsonRequest({ email: valid.email }))).status,
      ).toBe(400);
      expect(
        (await app.request("/api/auth/login", jsonRequest({ ...valid, remember: true }))).status,
      ).toBe(400);
    }));

  it("me without a session: 401", async () => {
    expect((await client().api.auth.me.$get()).status).toBe(401);
  });
});
