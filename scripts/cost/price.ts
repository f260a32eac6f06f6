import { readFileSync } from "node:fs";
import { nextFireTimes } from "../../packages/core/src/task/schedule-expression";
import { type EvaluatedResource, type Evaluation, usesFargateSpot } from "../infra/evaluate";

/**
 * Prices an evaluated resource graph: what each resource costs per month idle (it exists) and at
 * a given traffic (it is used). Prices come from prices.json; everything this file assumes about
 * traffic is in `Assumptions`, printed with every result.
 */

interface PriceEntry {
  usd: number;
  date: string;
  source: string;
  basis: string;
}
export interface PriceBook {
  region: string;
  hoursPerMonth: number;
  prices: Record<string, PriceEntry>;
}

export function loadPrices(): PriceBook {
  return JSON.parse(readFileSync(new URL("./prices.json", import.meta.url), "utf8")) as PriceBook;
}

export interface Assumptions {
  /** Background tasks each API request causes. */
  tasksPerRequest: number;
  /** Requests per second one 0.25 vCPU API task serves at the 60% CPU scaling target. */
  requestsPerSecondPerTask: number;
  /** Bytes sent to browsers per request (API JSON and site assets, averaged). */
  bytesOutPerRequest: number;
  /** Log bytes ingested per request (API line + gateway access log). */
  logBytesPerRequest: number;
  /** Bytes per request that leave the VPC through NAT (SQS and other AWS APIs, Sentry). */
  natBytesPerRequest: number;
  /** NAT traffic that does not depend on requests: image pulls, updates (GB per month). */
  natBaseGbPerMonth: number;
  /** Share of requests that read or write S3 (uploads, downloads). */
  s3RequestsPerRequest: number;
  workerSecondsPerTask: number;
  deploysPerMonth: number;
  migratorSeconds: number;
}

export const defaultAssumptions: Assumptions = {
  tasksPerRequest: 0.05,
  requestsPerSecondPerTask: 25,
  bytesOutPerRequest: 5 * 1024,
  logBytesPerRequest: 700,
  natBytesPerRequest: 2 * 1024,
  natBaseGbPerMonth: 5,
  s3RequestsPerRequest: 0.01,
  workerSecondsPerTask: 0.3,
  deploysPerMonth: 30,
  migratorSeconds: 5,
};

export interface CostLine {
  resource: string;
  type: string;
  detail: string;
  /** Monthly USD when the stage exists and serves nothing. */
  idle: number;
  /** Monthly USD at the requested traffic (idle included). */
  atTraffic: number;
}

export interface CostReport {
  stage: string;
  requestsPerMonth: number;
  lines: CostLine[];
  idle: number;
  atTraffic: number;
  assumptions: string[];
}

const GB = 1024 ** 3;
const SECONDS_PER_MONTH = 730 * 3600;

export function price(
  evaluation: Evaluation,
  requestsPerMonth: number,
  book: PriceBook = loadPrices(),
  assume: Assumptions = defaultAssumptions,
): CostReport {
  const p = (key: string) => {
    const entry = book.prices[key];
    if (!entry) throw new Error(`no price "${key}" in prices.json`);
    return entry.usd;
  };
  const hours = book.hoursPerMonth;
  const all = (type: string) => evaluation.resources.filter((r) => r.type === type);
  const input = <T>(r: EvaluatedResource, key: string) => r.inputs[key] as T;
  const lines: CostLine[] = [];
  const add = (
    r: EvaluatedResource | string,
    type: string,
    detail: string,
    idle: number,
    atTraffic = idle,
  ) => lines.push({ resource: typeof r === "string" ? r : r.name, type, detail, idle, atTraffic });

  const requestsPerSecond = requestsPerMonth / SECONDS_PER_MONTH;
  const tasksPerMonth = requestsPerMonth * assume.tasksPerRequest;
  const scheduledFires = scheduledPerMonth(evaluation);

  // --- compute ---
  for (const service of all("aws:ecs/service:Service")) {
    const task = all("aws:ecs/taskDefinition:TaskDefinition")[0];
    if (!task) continue;
    const vcpu = Number(input(task, "cpu")) / 1024;
    const gb = Number(input(task, "memory")) / 1024;
    const arch =
      input<{ cpuArchitecture?: string }>(task, "runtimePlatform")?.cpuArchitecture === "ARM64"
        ? "arm"
        : "x86";
    const spot = usesFargateSpot(service);
    const target = all("aws:appautoscaling/target:Target")[0];
    const min = Number(target ? input(target, "minCapacity") : input(service, "desiredCount"));
    const max = Number(target ? input(target, "maxCapacity") : min);
    // Autoscaling follows load: the average task count, never below min nor above max.
    const average = Math.min(
      max,
      Math.max(min, requestsPerSecond / assume.requestsPerSecondPerTask),
    );
    const kind = spot ? `spot.${arch}` : arch;
    const taskMonth =
      hours * (vcpu * p(`fargate.${kind}.vcpuHour`) + gb * p(`fargate.${kind}.gbHour`));
    add(
      service,
      "Fargate",
      `${min}-${max} × ${vcpu} vCPU / ${gb} GB ${arch.toUpperCase()}${spot ? " Spot" : ""}, avg ${average.toFixed(2)} at traffic`,
      min * taskMonth,
      average * taskMonth,
    );
    if (input<{ registryArn?: string }>(service, "serviceRegistries")?.registryArn) {
      add(
        `${service.name} (Cloud Map)`,
        "Cloud Map",
        "registered instances",
        min * p("cloudmap.instanceMonth"),
        Math.ceil(average) * p("cloudmap.instanceMonth"),
      );
    }
  }

  // --- database ---
  for (const db of all("aws:rds/instance:Instance")) {
    const klass = String(input(db, "instanceClass"));
    const copies = input(db, "multiAz") ? 2 : 1;
    const storage = Number(input(db, "allocatedStorage") ?? 20);
    add(
      db,
      "RDS",
      `${klass} × ${copies}${copies === 2 ? " (Multi-AZ)" : ""}`,
      copies * hours * p(`rds.${klass}.hour`),
    );
    add(
      `${db.name} storage`,
      "RDS",
      `${storage} GB gp3 × ${copies}`,
      copies * storage * p("rds.gp3.gbMonth"),
    );
  }

  // --- network ---
  for (const instance of all("aws:ec2/instance:Instance")) {
    const type = String(input(instance, "instanceType"));
    add(instance, "EC2", `${type} (NAT)`, hours * p(`ec2.${type}.hour`));
  }
  for (const ip of all("aws:ec2/eip:Eip"))
    add(ip, "Public IPv4", "Elastic IP", hours * p("vpc.publicIpv4.hour"));
  const natGateways = all("aws:ec2/natGateway:NatGateway");
  for (const nat of natGateways) {
    const gb =
      (assume.natBaseGbPerMonth + (requestsPerMonth * assume.natBytesPerRequest) / GB) /
      natGateways.length;
    add(
      nat,
      "NAT gateway",
      `hourly + ${gb.toFixed(1)} GB processed`,
      hours * p("vpc.natGateway.hour"),
      hours * p("vpc.natGateway.hour") + gb * p("vpc.natGateway.gb"),
    );
  }
  for (const endpoint of all("aws:ec2/vpcEndpoint:VpcEndpoint")) {
    const gateway = input(endpoint, "vpcEndpointType") === "Gateway";
    const azs = (input<string[]>(endpoint, "subnetIds") ?? []).length || 2;
    add(
      endpoint,
      "VPC endpoint",
      gateway ? "gateway (free)" : `interface × ${azs} AZ`,
      gateway ? 0 : azs * hours * p("vpc.interfaceEndpoint.hourPerAz"),
    );
  }
  for (const alb of all("aws:lb/loadBalancer:LoadBalancer")) {
    const lcu = requestsPerSecond / 25; // 25 new connections/s per LCU, a connection per request
    add(
      alb,
      "ALB",
      `hourly + ${lcu.toFixed(2)} LCU`,
      hours * p("elb.alb.hour"),
      hours * (p("elb.alb.hour") + lcu * p("elb.alb.lcuHour")),
    );
    // An internet-facing ALB holds a public IPv4 address in each of its (2) AZs.
    add(`${alb.name} IPv4`, "Public IPv4", "2 addresses", 2 * hours * p("vpc.publicIpv4.hour"));
  }

  // --- entry ---
  for (const api of all("aws:apigatewayv2/api:Api")) {
    // Requests reach it only if it routes somewhere.
    const routed = all("aws:apigatewayv2/route:Route").some(
      (route) => input(route, "apiId") === `${api.name}-id`,
    );
    const cost = routed ? (requestsPerMonth / 1e6) * p("apigateway.http.million") : 0;
    add(api, "API Gateway", routed ? "HTTP API requests" : "no routes", 0, cost);
  }
  for (const cdn of all("aws:cloudfront/distribution:Distribution")) {
    const million = requestsPerMonth / 1e6;
    const gbOut = (requestsPerMonth * assume.bytesOutPerRequest) / GB;
    const requestCost =
      Math.max(0, million - p("cloudfront.https.freeMillion")) * p("cloudfront.https.million");
    const dataCost =
      Math.max(0, gbOut - p("cloudfront.dataOut.freeGb")) * p("cloudfront.dataOut.gb");
    add(
      cdn,
      "CloudFront",
      `${million.toFixed(1)}M requests, ${gbOut.toFixed(0)} GB out (free tier applied)`,
      0,
      requestCost + dataCost,
    );
  }

  // --- tasks ---
  const queues = all("aws:sqs/queue:Queue");
  const mappings = all("aws:lambda/eventSourceMapping:EventSourceMapping");
  if (queues.length > 0) {
    // Lambda polls each subscribed queue with long polling (20 s) from ~5 pollers, busy or not.
    const polling = mappings.length * 5 * 3 * 60 * 730;
    const idleRequests = polling;
    const trafficRequests = polling + tasksPerMonth * 3; // send (batched), receive, delete
    const free = p("sqs.freeMillion") * 1e6;
    const cost = (n: number) => (Math.max(0, n - free) / 1e6) * p("sqs.million");
    add(
      "SQS",
      "SQS",
      `${(trafficRequests / 1e6).toFixed(2)}M requests at traffic incl. ${(polling / 1e6).toFixed(2)}M idle polling (1M free)`,
      cost(idleRequests),
      cost(trafficRequests),
    );
  }
  for (const fn of all("aws:lambda/function:Function")) {
    const gb = Number(input(fn, "memorySize") ?? 1024) / 1024;
    const arm = (input<string[]>(fn, "architectures") ?? []).includes("arm64");
    const migrator = fn.name.startsWith("Migrator");
    const invocations = migrator ? assume.deploysPerMonth : tasksPerMonth + scheduledFires;
    const idleInvocations = migrator ? assume.deploysPerMonth : scheduledFires;
    const seconds = migrator ? assume.migratorSeconds : assume.workerSecondsPerTask;
    const perGbSecond = arm ? p("lambda.arm.gbSecond") : p("lambda.arm.gbSecond") * 1.25;
    const cost = (n: number) => (n / 1e6) * p("lambda.million") + n * gb * seconds * perGbSecond;
    add(
      fn,
      "Lambda",
      `${Math.round(invocations)} invocations × ${gb} GB × ${seconds} s${arm ? " ARM" : ""}`,
      cost(idleInvocations),
      cost(invocations),
    );
  }
  const schedules = all("aws:scheduler/schedule:Schedule");
  if (schedules.length > 0) {
    const cost =
      (Math.max(0, scheduledFires - p("scheduler.freeMillion") * 1e6) / 1e6) *
      p("scheduler.million");
    add(
      "EventBridge Scheduler",
      "Scheduler",
      `${schedules.length} schedules, ${scheduledFires} invocations (14M free)`,
      cost,
    );
  }

  // --- storage, logs, secrets, alarms ---
  const buckets = all("aws:s3/bucket:Bucket");
  if (buckets.length > 0) {
    const requests = requestsPerMonth * assume.s3RequestsPerRequest;
    add(
      "S3",
      "S3",
      `${buckets.length} buckets, ${(requests / 1e6).toFixed(2)}M requests (half PUT)`,
      0,
      (requests / 2e6) * (p("s3.get.million") + p("s3.put.million")),
    );
  }
  const logGroups = all("aws:cloudwatch/logGroup:LogGroup");
  if (logGroups.length > 0) {
    const gb = (requestsPerMonth * assume.logBytesPerRequest + tasksPerMonth * 500) / GB;
    add(
      "CloudWatch Logs",
      "Logs",
      `${logGroups.length} log groups, ${gb.toFixed(2)} GB ingested`,
      0,
      gb * p("cloudwatch.logs.gbIngested"),
    );
  }
  for (const secret of all("aws:secretsmanager/secret:Secret"))
    add(secret, "Secrets Manager", "secret", p("secretsmanager.secretMonth"));
  for (const alarm of all("aws:cloudwatch/metricAlarm:MetricAlarm"))
    add(alarm, "Alarm", "standard alarm", p("cloudwatch.alarmMonth"));

  const round = (n: number) => Math.round(n * 100) / 100;
  const rounded = lines.map((line) => ({
    ...line,
    idle: round(line.idle),
    atTraffic: round(line.atTraffic),
  }));
  return {
    stage: evaluation.app.stage,
    requestsPerMonth,
    lines: rounded,
    idle: round(lines.reduce((sum, line) => sum + line.idle, 0)),
    atTraffic: round(lines.reduce((sum, line) => sum + line.atTraffic, 0)),
    assumptions: [
      `${book.hoursPerMonth} hours per month, ${book.region} list prices (scripts/cost/prices.json)`,
      `${assume.tasksPerRequest} background tasks per request, ${assume.workerSecondsPerTask} s each, one Lambda invocation per task`,
      `${assume.requestsPerSecondPerTask} requests/s per 0.25 vCPU API task; tasks average load/capacity between min and max`,
      `${assume.bytesOutPerRequest} bytes out and ${assume.logBytesPerRequest} log bytes per request`,
      `${assume.natBytesPerRequest} bytes per request + ${assume.natBaseGbPerMonth} GB/month through NAT (priced only for a NAT gateway; fck-nat has no per-GB fee)`,
      `${assume.deploysPerMonth} deploys per month (migrator runs)`,
      "free tiers (SQS 1M, Scheduler 14M, CloudFront 10M requests + 1 TB) counted as if this stage were alone in its account",
      "not priced: data transfer between AZs, ECR image storage (~$0.02), CloudWatch Logs storage, S3 storage",
    ],
  };
}

/** Invocations per 30 days of every schedule in the graph, from their real expressions. */
function scheduledPerMonth(evaluation: Evaluation): number {
  const start = new Date("2026-01-05T00:00:00Z");
  const end = start.getTime() + 30 * 86_400_000;
  let fires = 0;
  for (const schedule of evaluation.resources.filter(
    (r) => r.type === "aws:scheduler/schedule:Schedule",
  )) {
    const expression = String(schedule.inputs.scheduleExpression);
    const timezone = String(schedule.inputs.scheduleExpressionTimezone ?? "UTC");
    let cursor = start;
    for (;;) {
      const [next] = nextFireTimes(expression, timezone, cursor, 1, start);
      if (!next || next.getTime() > end) break;
      fires++;
      cursor = next;
    }
  }
  return fires;
}
