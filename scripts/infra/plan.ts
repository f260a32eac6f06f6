import { parseArgs } from "node:util";
import { ensureSstPlatform } from "../sst-platform";
import { type EvaluatedResource, ensureSiteBuilt, evaluate } from "./evaluate";

/**
 * `npm run infra:plan -- --stage production [--dev]`: evaluates the SST app offline (no AWS
 * account) and prints every resource it would create, grouped under its SST component, with the
 * inputs a reviewer cares about. Diff two runs to review an infra change.
 */

const { values } = parseArgs({
  options: {
    stage: { type: "string", default: "staging" },
    dev: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});

ensureSstPlatform();
ensureSiteBuilt();
const evaluation = await evaluate({ stage: values.stage, dev: values.dev });

// Inputs that identify or size a resource; tags, policies and code are left to --json.
const SKIP = new Set([
  "tags",
  "tagsAll",
  "code",
  "policy",
  "assumeRolePolicy",
  "inlinePolicies",
  "containerDefinitions",
  "password",
  "source",
  "s3Key",
]);
function summary(resource: EvaluatedResource): string {
  return Object.entries(resource.inputs)
    .filter(
      ([key, value]) => !SKIP.has(key) && value !== undefined && value !== null && value !== "",
    )
    .map(([key, value]) => {
      const text = typeof value === "object" ? JSON.stringify(value) : String(value);
      return `${key}=${text.length > 80 ? `${text.slice(0, 77)}...` : text}`;
    })
    .join("  ");
}

function render(): string {
  const byParent = new Map<string, EvaluatedResource[]>();
  for (const resource of evaluation.resources) {
    if (resource.type === "pulumi:pulumi:Stack") continue;
    const parent = resource.parent ?? "";
    byParent.set(parent, [...(byParent.get(parent) ?? []), resource]);
  }

  const lines: string[] = [];
  function print(resource: EvaluatedResource, depth: number) {
    const indent = "  ".repeat(depth);
    const detail = resource.type.startsWith("sst:") ? "" : `  ${summary(resource)}`;
    const waits = resource.dependsOn.length > 0 ? `  (after ${resource.dependsOn.join(", ")})` : "";
    lines.push(`${indent}${resource.type}  ${resource.name}${waits}${detail}`);
    for (const child of byParent.get(resource.name) ?? []) print(child, depth + 1);
  }
  for (const resource of byParent.get("") ?? []) print(resource, 0);

  const custom = evaluation.resources.filter(
    (r) => r.custom && !r.type.startsWith("sst:") && !r.type.startsWith("pulumi:"),
  );
  return (
    `${evaluation.app.name} / ${evaluation.app.stage}${values.dev ? " (sst dev)" : ""}: ` +
    `${custom.length} cloud resources, removal=${evaluation.app.removal}, protect=${evaluation.app.protect}\n\n` +
    `${lines.join("\n")}\n`
  );
}

// No process.exit here: it would cut off output still buffered for a pipe.
process.stdout.write(values.json ? `${JSON.stringify(evaluation, null, 2)}\n` : render());
