import { readdirSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  type ConfigEdit,
  copyConfig,
  type Evaluation,
  ensureSiteBuilt,
  evaluate,
} from "../infra/evaluate";
import { ensureSstPlatform } from "../sst-platform";
import { type CostReport, loadPrices, price } from "./price";

/**
 * `npm run cost -- --stage production [--requests-per-month 1000000] [--dev]`: evaluates the SST
 * app offline and prices its resource graph, idle and at the given traffic; `--dev` prices what
 * `sst dev` deploys for that stage (the API and the database then run on the developer's machine).
 * A preview stage (any but production and staging, ADR 026) is priced beside the same stage
 * standalone (SLIPWAY_BASE_STAGE=standalone: its own VPC and RDS instance).
 * `--compare`: the README tables (production idle / 1M / 100M requests, beside a managed NAT
 * gateway and an application load balancer; production with each stage-variable variant below;
 * each kind of stage). `--write-baseline`: records
 * today's per-resource costs in infra/cost-baseline.json, which the budget test compares against.
 */

/** The same app with one design choice swapped, evaluated for real from an edited config copy. */
export const variants: Record<string, ConfigEdit[]> = {
  "managed NAT gateway": [
    {
      file: "infra/network.ts",
      from: 'nat: { ec2: { instance: "t4g.nano", role: natRole.name } }',
      to: 'nat: "managed"',
    },
  ],
  "load balancer (ALB)": [
    {
      file: "infra/api.ts",
      from: "serviceRegistry: { port: API_PORT },",
      to: 'loadBalancer: { ports: [{ listen: "80/http", forward: "3000/http" }] },',
    },
    {
      file: "infra/api.ts",
      from: 'if (!$dev) gateway.routePrivate("$default", service.nodes.cloudmapService.arn);',
      to: "",
    },
    {
      file: "infra/api.ts",
      from: "router.route(API_PATH, gateway.url);",
      to: "router.route(API_PATH, service.url);",
    },
  ],
};

/**
 * Production with stage variables set (the switches of issue 21), priced beside the default.
 * Adding a row is one line. A row whose variable no file of infra/ reads yet (another change
 * brings it) is listed as not in this build rather than priced as the default.
 */
export const variableVariants: { name: string; variables: Record<string, string> }[] = [
  { name: "Aurora Serverless v2", variables: { SLIPWAY_DATABASE: "aurora-serverless" } },
  { name: "RDS Proxy", variables: { SLIPWAY_DB_PROXY: "true" } },
  {
    name: "Aurora Serverless v2 + RDS Proxy",
    variables: { SLIPWAY_DATABASE: "aurora-serverless", SLIPWAY_DB_PROXY: "true" },
  },
  { name: "one read replica", variables: { SLIPWAY_READ_REPLICAS: "1" } },
  { name: "Valkey cache (ElastiCache Serverless)", variables: { SLIPWAY_CACHE: "valkey" } },
];

/** The stage variables some file of infra/ reads. */
function knownVariables(): Set<string> {
  const dir = new URL("../../infra/", import.meta.url);
  const source = readdirSync(dir)
    .filter((file) => file.endsWith(".ts"))
    .map((file) => readFileSync(new URL(file, dir), "utf8"))
    .join("\n");
  return new Set(source.match(/SLIPWAY_[A-Z0-9_]+/g) ?? []);
}

const usd = (n: number) => `$${n.toFixed(2)}`;

export function renderReport(report: CostReport): string {
  const rows = [...report.lines].sort((a, b) => b.atTraffic - a.atTraffic || b.idle - a.idle);
  const width = Math.max(...rows.map((r) => r.resource.length), 8);
  const header = `${"resource".padEnd(width)}  ${"kind".padEnd(16)}  ${"idle".padStart(9)}  ${"at traffic".padStart(10)}  detail`;
  const body = rows.map(
    (r) =>
      `${r.resource.padEnd(width)}  ${r.type.padEnd(16)}  ${usd(r.idle).padStart(9)}  ${usd(r.atTraffic).padStart(10)}  ${r.detail}`,
  );
  return [
    `${report.stage}: monthly cost, idle and at ${report.requestsPerMonth.toLocaleString("en-US")} requests/month`,
    "",
    header,
    ...body,
    "",
    `${"idle total".padEnd(width)}  ${"".padEnd(16)}  ${usd(report.idle).padStart(9)}`,
    `${"total at traffic".padEnd(width)}  ${"".padEnd(16)}  ${"".padStart(9)}  ${usd(report.atTraffic).padStart(10)}`,
    "",
    "assumptions:",
    ...report.assumptions.map((a) => `  - ${a}`),
  ].join("\n");
}

/** The stages of the second --compare table: each kind, deployed and under `sst dev`. */
const stageKinds: {
  name: string;
  stage: string;
  dev?: boolean;
  variables?: Record<string, string>;
}[] = [
  { name: "production", stage: "production" },
  { name: "staging", stage: "staging" },
  { name: "preview pr-1 (shares staging's VPC and RDS)", stage: "pr-1" },
  {
    name: "preview pr-1, standalone (own VPC and RDS)",
    stage: "pr-1",
    variables: { SLIPWAY_BASE_STAGE: "standalone" },
  },
  { name: "sst dev, a developer's stage (shares staging's VPC)", stage: "dev-frank", dev: true },
];

/** Evaluates a stage as this process's environment would deploy it, with `variables` on top. */
const evaluateWith = (stage: string, dev: boolean, variables: Record<string, string> = {}) =>
  evaluate({
    stage,
    dev,
    variables: {
      ...Object.fromEntries(
        Object.entries(process.env).filter(
          (entry): entry is [string, string] => entry[0].startsWith("SLIPWAY_") && !!entry[1],
        ),
      ),
      ...variables,
    },
  });

async function compare(): Promise<string> {
  const designs = [
    { name: "Slipway (fck-nat, API Gateway + Cloud Map)", config: undefined as string | undefined },
    ...Object.entries(variants).map(([name, edits]) => ({
      name: `with a ${name}`,
      config: copyConfig(name.replace(/\W+/g, "-"), edits),
    })),
  ];
  const evaluations = await Promise.all(
    designs.map((d) => evaluate({ stage: "production", config: d.config })),
  );
  const lines = [
    "| production, per month | idle | 1M requests | 100M requests |",
    "|---|---:|---:|---:|",
    ...designs.map((design, i) => {
      const graph = evaluations[i];
      if (!graph) throw new Error("missing evaluation");
      const at = (requests: number) => usd(price(graph, requests).atTraffic);
      return `| ${design.name} | ${usd(price(graph, 0).idle)} | ${at(1e6)} | ${at(1e8)} |`;
    }),
  ];
  const known = knownVariables();
  const built = variableVariants.filter((v) => Object.keys(v.variables).every((k) => known.has(k)));
  const [base, ...withVariables] = await Promise.all([
    evaluate({ stage: "production", variables: {} }),
    ...built.map((v) => evaluate({ stage: "production", variables: v.variables })),
  ]);
  if (!base) throw new Error("missing evaluation");
  const cells = (graph: Evaluation) => [
    price(graph, 0).idle,
    price(graph, 1e6).atTraffic,
    price(graph, 1e8).atTraffic,
  ];
  const baseCells = cells(base);
  const beside = (values: number[]) =>
    values.map((v, i) => {
      const delta = v - (baseCells[i] ?? 0);
      return `${usd(v)} (${delta >= 0 ? "+" : "-"}${usd(Math.abs(delta))})`;
    });
  lines.push(
    "",
    "| production with, per month (beside the default) | idle | 1M requests | 100M requests |",
    "|---|---:|---:|---:|",
    `| the default (RDS t4g.micro Multi-AZ, no proxy) | ${baseCells.map(usd).join(" | ")} |`,
    ...variableVariants.map((variant) => {
      const set = Object.entries(variant.variables)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ");
      const graph = withVariables[built.indexOf(variant)];
      return graph
        ? `| ${variant.name} (\`${set}\`) | ${beside(cells(graph)).join(" | ")} |`
        : `| ${variant.name} (\`${set}\`) | not in this build | | |`;
    }),
  );
  const stages = await Promise.all(
    stageKinds.map((kind) => evaluateWith(kind.stage, kind.dev ?? false, kind.variables)),
  );
  lines.push(
    "",
    "| stage, per month | idle | per hour idle | 1M requests |",
    "|---|---:|---:|---:|",
    ...stageKinds.map((kind, i) => {
      const graph = stages[i];
      if (!graph) throw new Error("missing evaluation");
      const idle = price(graph, 0).idle;
      return `| ${kind.name} | ${usd(idle)} | ${perHour(idle)} | ${usd(price(graph, 1e6).atTraffic)} |`;
    }),
  );
  return lines.join("\n");
}

/** A monthly figure per hour (prices.json's hours per month). */
const perHour = (monthly: number) => `$${(monthly / loadPrices().hoursPerMonth).toFixed(4)}`;

async function main() {
  const { values } = parseArgs({
    options: {
      stage: { type: "string", default: "production" },
      "requests-per-month": { type: "string", default: "1000000" },
      json: { type: "boolean", default: false },
      compare: { type: "boolean", default: false },
      "write-baseline": { type: "boolean", default: false },
      dev: { type: "boolean", default: false },
    },
  });
  ensureSstPlatform();
  ensureSiteBuilt();

  if (values.compare) {
    process.stdout.write(`${await compare()}\n`);
    return;
  }
  if (values["write-baseline"]) {
    const { writeBaseline } = await import("./baseline");
    // Production, staging and one preview on staging's VPC and instance, with no stage variables.
    writeBaseline(
      await Promise.all(
        ["production", "staging", "pr-42"].map((stage) => evaluate({ stage, variables: {} })),
      ),
    );
    return;
  }
  const requests = Number(values["requests-per-month"]);
  if (!Number.isFinite(requests) || requests < 0)
    throw new Error("--requests-per-month takes a number ≥ 0");
  const preview = values.stage !== "production" && values.stage !== "staging";
  const shared = preview && process.env.SLIPWAY_BASE_STAGE !== "standalone";
  const [graph, standalone] = await Promise.all([
    evaluateWith(values.stage, values.dev),
    shared
      ? evaluateWith(values.stage, values.dev, { SLIPWAY_BASE_STAGE: "standalone" })
      : undefined,
  ]);
  const report = price(graph, requests);
  const alone = standalone && price(standalone, requests);
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify(alone ? { ...report, standalone: alone } : report, null, 2)}\n`,
    );
    return;
  }
  const mode = values.dev ? "sst dev (the API and the database run locally)" : "deployed";
  process.stdout.write(
    `${renderReport(report)}\n\n${values.stage}, ${mode}: ${usd(report.idle)} a month idle, ${perHour(report.idle)} an hour\n`,
  );
  if (alone)
    process.stdout.write(
      `the same stage standalone (SLIPWAY_BASE_STAGE=standalone: its own VPC and NAT instances, and RDS when deployed): ${usd(alone.idle)} a month idle, ${perHour(alone.idle)} an hour\n`,
    );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
