import { parseArgs } from "node:util";
import { type ConfigEdit, copyConfig, ensureSiteBuilt, evaluate } from "../infra/evaluate";
import { ensureSstPlatform } from "../sst-platform";
import { type CostReport, price } from "./price";

/**
 * `npm run cost -- --stage production [--requests-per-month 1000000]`: evaluates the SST app
 * offline and prices its resource graph, idle and at the given traffic.
 * `--compare`: the README table (production idle / 1M / 100M requests, beside a managed NAT
 * gateway and an application load balancer). `--write-baseline`: records today's per-resource
 * costs in infra/cost-baseline.json, which the budget test compares against.
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
  return lines.join("\n");
}

async function main() {
  const { values } = parseArgs({
    options: {
      stage: { type: "string", default: "production" },
      "requests-per-month": { type: "string", default: "1000000" },
      json: { type: "boolean", default: false },
      compare: { type: "boolean", default: false },
      "write-baseline": { type: "boolean", default: false },
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
    writeBaseline(await Promise.all(["production", "staging"].map((stage) => evaluate({ stage }))));
    return;
  }
  const requests = Number(values["requests-per-month"]);
  if (!Number.isFinite(requests) || requests < 0)
    throw new Error("--requests-per-month takes a number ≥ 0");
  const report = price(await evaluate({ stage: values.stage }), requests);
  process.stdout.write(
    values.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderReport(report)}\n`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
