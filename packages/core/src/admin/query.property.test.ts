import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../error";
import { textProblem } from "../http/text";
import { MAX_LIMIT, parseRowsQuery } from "./query";

// Every string: full Unicode with lone surrogates and NUL (single code units mixed in), not a
// filtered alphabet: an input class left out to make a property pass is a bug left in.
const anyText = fc.oneof(
  fc.string({ unit: "binary" }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)) }),
);
const name = fc.oneof(
  anyText,
  fc.constantFrom("cursor", "limit"),
  anyText.map((column) => `filter[${column}]`),
  anyText.map((column) => `prefix[${column}]`),
);
const pairs = fc.array(fc.tuple(name, anyText), { maxLength: 8 });

describe("rows query parsing (property)", () => {
  it("any query either parses or is a ValidationError naming what is wrong; nothing else is thrown", () => {
    fc.assert(
      fc.property(pairs, (query) => {
        try {
          const parsed = parseRowsQuery(query);
          // What it accepts is exactly what was sent: no value reinterpreted, no pair dropped.
          const names = query.map(([n]) => n);
          expect(new Set(names).size).toBe(names.length);
          for (const [n, v] of query) {
            expect(textProblem(n) ?? textProblem(v)).toBeUndefined();
            if (n === "cursor") expect(parsed.cursor).toBe(v);
            else if (n === "limit") expect(parsed.limit).toBe(Number(v));
            else
              expect(parsed.filters).toContainEqual({
                op: n.slice(0, 6),
                column: n.slice(7, -1),
                value: v,
              });
          }
          expect(parsed.filters).toHaveLength(
            names.filter((n) => n !== "cursor" && n !== "limit").length,
          );
          expect(parsed.limit).toBeGreaterThanOrEqual(1);
          expect(parsed.limit).toBeLessThanOrEqual(MAX_LIMIT);
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
          expect((error as ValidationError).issues.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("any storable column name and value round-trips through filter[…] and prefix[…], wildcards and brackets-free names alike", () => {
    const column = anyText.filter((c) => c.length > 0 && !/[[\]]/.test(c) && !textProblem(c));
    const value = anyText.filter((v) => !textProblem(v));
    fc.assert(
      fc.property(column, value, fc.constantFrom("filter", "prefix"), (c, v, op) => {
        expect(parseRowsQuery([[`${op}[${c}]`, v]]).filters).toEqual([{ op, column: c, value: v }]);
      }),
      { numRuns: 2000 },
    );
  });

  it("limit takes exactly the whole numbers 1 to 100 written plainly", () => {
    fc.assert(
      fc.property(anyText, (v) => {
        const plain = /^[0-9]{1,3}$/.test(v) && Number(v) >= 1 && Number(v) <= MAX_LIMIT;
        if (plain) expect(parseRowsQuery([["limit", v]]).limit).toBe(Number(v));
        else expect(() => parseRowsQuery([["limit", v]])).toThrow(ValidationError);
      }),
      { numRuns: 2000 },
    );
    for (let n = 1; n <= MAX_LIMIT; n++)
      expect(parseRowsQuery([["limit", String(n)]]).limit).toBe(n);
  });
});
