import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

/** Every spelling of a module's name the generated code uses, from one kebab-case name. */
export interface ModuleNames {
  /** `order-item`: the folder, the file names, the schedule's name. */
  kebab: string;
  /** `orderItem`: the id kind, variables (task names are `order-item.report`). */
  camel: string;
  /** `OrderItem`: the namespace (`OrderItem.create`). */
  pascal: string;
  /** `order_item`: the SQL table. */
  snake: string;
  /** `order-items`: the URL path and the OpenAPI tag. */
  plural: string;
  /** `OrderItems`: in operationIds (`listOrderItems`). */
  pluralPascal: string;
  /** `order item`: in messages and descriptions. */
  words: string;
}

export class NameError extends Error {}

/**
 * Words the module's name cannot be: JavaScript's reserved words (the namespace and variables
 * are made from it), and names the app or its tooling already gives a meaning (`index.ts`,
 * `test/`, the registries, the entry points).
 */
const RESERVED = new Set([
  // ECMAScript reserved words, strict mode's and the literals.
  ...`break case catch class const continue debugger default delete do else enum export extends
  false finally for function if import in instanceof new null return super switch this throw true
  try typeof var void while with yield let static implements interface package private protected
  public await arguments eval undefined async of`.split(/\s+/),
  // Files and folders with a role in packages/core (a module folder beside them would read as one).
  ..."index api tasks schedules server config log error id actor test tests migrations module modules app site web functions infra shared types util utils lib platform core".split(
    " ",
  ),
  // drizzle and zod names the generated files import (`import * as z`, `sql`, `eq`).
  ..."z sql eq and desc count lt".split(" "),
]);

/**
 * Checks a module name and spells it every way the code needs. Accepted: kebab-case
 * (`order-item`) or camelCase (`orderItem`), a letter first, letters and digits, 2 to 40
 * characters. Refused, with a message naming the problem: an empty name, any other shape, a
 * reserved word, an existing folder of packages/core/src, an existing id kind (`user`), or a
 * name whose URL path is taken.
 */
export function moduleNames(raw: string, coreSrc: string, idKinds: readonly string[]): ModuleNames {
  const name = raw.trim();
  if (name === "") throw new NameError("The module needs a name: npm run new:module -- <name>");
  const kebabShape = /^[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*$/;
  const camelShape = /^[a-z][a-z0-9]*([A-Z][a-z0-9]*)*$/;
  if (!kebabShape.test(name) && !camelShape.test(name)) {
    throw new NameError(
      `"${name}" is not kebab-case (order-item) or camelCase (orderItem): start with a lower-case letter, then letters and digits, words joined by "-" or a capital`,
    );
  }
  const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  if (kebab.length < 2 || kebab.length > 40) {
    throw new NameError(`"${name}" must be 2 to 40 characters long`);
  }
  const parts = kebab.split("-");
  const camel = parts.map((p, i) => (i === 0 ? p : capitalize(p))).join("");
  const taken = readdirSync(coreSrc).map((entry) => entry.replace(/\.ts$/, ""));
  if (taken.includes(kebab) || existsSync(path.join(coreSrc, kebab))) {
    throw new NameError(
      `"${kebab}" clashes with packages/core/src/${kebab}, which exists; pick another name`,
    );
  }
  if (RESERVED.has(kebab) || RESERVED.has(camel)) {
    throw new NameError(`"${name}" is a reserved word here; pick another name`);
  }
  if (idKinds.includes(camel)) {
    throw new NameError(
      `"${name}" is an id kind already (packages/core/src/id.ts): its ids belong to another module`,
    );
  }
  const plural = pluralize(kebab);
  return {
    kebab,
    camel,
    pascal: capitalize(camel),
    snake: parts.join("_"),
    plural,
    pluralPascal: plural.split("-").map(capitalize).join(""),
    words: parts.join(" "),
  };
}

const capitalize = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

/** English plural of the last word, by the common rules: box → boxes, city → cities. */
function pluralize(kebab: string): string {
  if (/(s|x|z|ch|sh)$/.test(kebab)) return `${kebab}es`;
  if (/[^aeiou]y$/.test(kebab)) return `${kebab.slice(0, -1)}ies`;
  return `${kebab}s`;
}

/**
 * A three-letter id prefix for the kind that no other kind has: the first three letters of the
 * name, else its first letter with two later ones, in order (`order-item` → `ord`).
 */
export function idPrefix(camel: string, taken: readonly string[]): string {
  const letters = camel.toLowerCase().replace(/[^a-z]/g, "");
  const candidates = [letters.padEnd(3, "x").slice(0, 3)];
  for (let i = 1; i < letters.length; i++) {
    for (let j = i + 1; j < letters.length; j++) {
      candidates.push(`${letters[0]}${letters[i]}${letters[j]}`);
    }
  }
  const free = candidates.find((c) => c.length === 3 && !taken.includes(c));
  if (!free) throw new NameError(`No free id prefix for "${camel}"; add one to id.ts by hand`);
  return free;
}
