import * as z from "zod";
import type { SchemaIssue } from "../error";

/**
 * Text Postgres cannot keep as sent. It refuses U+0000 in `text` and `jsonb` (a 500 if it gets
 * there), and a lone surrogate is not Unicode at all: the drivers encode it as U+FFFD, so `text`
 * silently stores another string, and `jsonb` refuses its `\uD800` escape. Every other code point
 * (controls, noncharacters, astral planes) round-trips on PGlite and on Postgres.
 */
const NUL = "\u0000";
// Without the `u` flag a regex sees UTF-16 code units, which is what finds a half of a pair.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with `value` as stored text, or `undefined` when Postgres keeps it exactly. */
export function textProblem(value: string): string | undefined {
  const nul = value.includes(NUL);
  const lone = LONE_SURROGATE.test(value);
  if (nul && lone) return "must not contain U+0000 (NUL) or an unpaired surrogate (U+D800–U+DFFF)";
  if (nul) return "must not contain U+0000 (NUL)";
  if (lone) return "must not contain an unpaired surrogate (U+D800–U+DFFF): it is not Unicode text";
  return undefined;
}

/**
 * Enough to fix a request, and bounded: a body of many bad strings, or of bad strings under one
 * long key, does not get back a response many times its size. The first issue is always reported.
 */
export const MAX_TEXT_ISSUES = 100;
const MAX_REPORTED_PATH_CHARS = 16 * 1024;

type Node = { parent?: Node; key?: PropertyKey } & ({ value: unknown } | { keyProblem: string });

/**
 * Every string in `input` (values and object keys, at any depth) that Postgres cannot store, with
 * its path, in document order, within the bounds above. A key's issue has the key's own path, as
 * an issue about the field it names would. Iterative and linear: no nesting overflows the stack,
 * and paths are built only for what is reported.
 */
export function unstorableText(input: unknown): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  let budget = MAX_REPORTED_PATH_CHARS;
  const stack: Node[] = [{ value: input }];
  for (let node = stack.pop(); node; node = stack.pop()) {
    const problem =
      "keyProblem" in node
        ? `field name ${node.keyProblem}`
        : typeof node.value === "string"
          ? textProblem(node.value)
          : undefined;
    if (problem) {
      const path = pathOf(node);
      budget -= path.reduce<number>((chars, key) => chars + String(key).length + 1, 0);
      if (issues.length > 0 && budget < 0) break;
      issues.push({ path, message: problem });
      if (issues.length === MAX_TEXT_ISSUES) break;
    } else if ("value" in node && typeof node.value === "object" && node.value !== null) {
      pushChildren(stack, node, node.value);
    }
  }
  return issues;
}

function pushChildren(stack: Node[], parent: Node, value: object) {
  // Pushed last to first, so they pop in document order; a key's issue before its value's.
  if (Array.isArray(value)) {
    for (let index = value.length - 1; index >= 0; index--) {
      stack.push({ parent, key: index, value: value[index] });
    }
    return;
  }
  const entries = Object.entries(value);
  for (let index = entries.length - 1; index >= 0; index--) {
    const [key, child] = entries[index] as [string, unknown];
    stack.push({ parent, key, value: child });
    const keyProblem = textProblem(key);
    if (keyProblem) stack.push({ parent, key, keyProblem });
  }
}

function pathOf(node: Node): PropertyKey[] {
  const path: PropertyKey[] = [];
  for (let at: Node | undefined = node; at?.key !== undefined; at = at.parent) path.push(at.key);
  return path.reverse();
}

/**
 * The same rule as a zod check, for domain schemas: a function called by a task or a script
 * rejects such text too (a ZodError, a 400 through the error handler) instead of a database error.
 */
export const storableText = z.superRefine<string>((value, ctx) => {
  const problem = textProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem, input: value });
});

/** `z.string()` for text a module stores: what Postgres cannot keep as sent is refused. */
export const text = () => z.string().check(storableText);
