import { readFileSync } from "node:fs";
import {
  customMetricCount,
  ROUTE_GROUPS,
  TASK_NAMES,
} from "../../packages/core/src/observability/metric-catalog";
import { fireTimesUntil } from "../../packages/core/src/task/schedule-expression";
import { type EvaluatedResource, type Evaluation, usesFargateSpot } from "../infra/evaluate";

/**
 * Prices an evaluated resource graph: what each resource costs per month idle (it exists) and at
 * a given traffic (it is used). Prices come from prices.json; everything this file assumes about
 * traffic is in `Assumptions`, printed with every result.
 *
 * The model is a table keyed by resource type (the Pulumi type token): `pricers` holds the
 * function that prices every resource of a type, `free` the types that cost nothing of their own
 * (each with the reason), `notPriced` the types whose charge this model leaves out (each reason is
 * printed with every report). A resource of any other type makes `price` throw, naming the type
 * and the resources: a bill that silently skips a new kind of resource is worse than none.
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
  /** Log bytes ingested per background task (the worker's lines). */
  logBytesPerTask: number;
  /** Bytes per request that leave the VPC through NAT (SQS and other AWS APIs, Sentry). */
  natBytesPerRequest: number;
  /** NAT traffic that does not depend on requests: image pulls, updates (GB per month). */
  natBaseGbPerMonth: number;
  /** Share of requests that read or write S3 (uploads, downloads). */
  s3RequestsPerRequest: number;
  /** Share of those S3 requests that are PUTs (the rest are GETs). */
  s3PutShare: number;
  /** SQS requests per task: send (batched), receive, delete. */
  sqsRequestsPerTask: number;
  /** Pollers Lambda keeps on each SQS event source mapping, busy or not. */
  sqsPollersPerSubscription: number;
  /** How long each of those long polls waits (SQS's maximum, 20 s). */
  sqsLongPollSeconds: number;
  /** New connections a load balancer sees per request (no keep-alive between requests). */
  newConnectionsPerRequest: number;
  workerSecondsPerTask: number;
  /** Cache commands (GET/SET of values under 1 KB: 1 ECPU each) per request, with SLIPWAY_CACHE=valkey. */
  cacheCommandsPerRequest: number;
  /** GB a Valkey cache holds on average (billed at least the engine's minimum). */
  cacheStoredGb: number;
  deploysPerMonth: number;
  migratorSeconds: number;
  /** Requests per second one Aurora capacity unit serves (ACUs average load/this, min to max). */
  requestsPerSecondPerAcu: number;
  /** Minutes an auto-paused Aurora instance stays up each hour a schedule wakes it (5 idle + 1). */
  auroraAwakeMinutesPerWake: number;
  /** Aurora volume in use (GB): billed as used, not allocated. */
  auroraStorageGb: number;
  /** Aurora storage I/O requests per API request (pages read past the cache, WAL writes). */
  auroraIosPerRequest: number;
}

export const defaultAssumptions: Assumptions = {
  tasksPerRequest: 0.05,
  requestsPerSecondPerTask: 25,
  bytesOutPerRequest: 5 * 1024,
  logBytesPerRequest: 700,
  logBytesPerTask: 500,
  natBytesPerRequest: 2 * 1024,
  natBaseGbPerMonth: 5,
  s3RequestsPerRequest: 0.01,
  s3PutShare: 0.5,
  sqsRequestsPerTask: 3,
  sqsPollersPerSubscription: 5,
  sqsLongPollSeconds: 20,
  newConnectionsPerRequest: 1,
  workerSecondsPerTask: 0.3,
  cacheCommandsPerRequest: 1,
  cacheStoredGb: 0.1,
  deploysPerMonth: 30,
  migratorSeconds: 5,
  requestsPerSecondPerAcu: 50,
  auroraAwakeMinutesPerWake: 6,
  auroraStorageGb: 5,
  auroraIosPerRequest: 5,
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

/** What a pricer gets: the whole graph, the prices, the traffic and what follows from it. */
export interface PricingContext {
  evaluation: Evaluation;
  assume: Assumptions;
  hoursPerMonth: number;
  requestsPerMonth: number;
  requestsPerSecond: number;
  tasksPerMonth: number;
  /** Invocations per month of every schedule in the graph. */
  scheduledFires: number;
  /** A price from prices.json; throws if it is missing. */
  p: (key: string) => number;
  /** Every resource of a type. */
  all: (type: string) => EvaluatedResource[];
}

/** Prices all the resources of one type (never called with none). */
export type Pricer = (resources: EvaluatedResource[], ctx: PricingContext) => CostLine[];

const GB = 1024 ** 3;
/** What AWS gives a function whose memorySize is unset. */
const LAMBDA_DEFAULT_MEMORY_MB = 128;
/** Schedules are counted over one month (`hoursPerMonth`) from this Monday. */
const SCHEDULE_COUNT_START = new Date("2026-01-05T00:00:00Z");

const line = (
  resource: EvaluatedResource | string,
  type: string,
  detail: string,
  idle: number,
  atTraffic = idle,
): CostLine => ({
  resource: typeof resource === "string" ? resource : resource.name,
  type,
  detail,
  idle,
  atTraffic,
});

const input = <T>(r: EvaluatedResource, key: string) => r.inputs[key] as T;

/**
 * Whether an input value points at a resource. The evaluator's mocks give every resource the id
 * `<name>-id` and an ARN ending in `:<name>`, and a reference carries one or the other.
 */
const refersTo = (value: unknown, r: EvaluatedResource) =>
  typeof value === "string" && (value === `${r.name}-id` || value.endsWith(`:${r.name}`));

/** The one resource of `type` that `from`'s input `key` points at; throws if there is none. */
function referenced(
  ctx: PricingContext,
  from: EvaluatedResource,
  key: string,
  type: string,
): EvaluatedResource {
  const value = from.inputs[key];
  const found = ctx.all(type).find((r) => refersTo(value, r));
  if (!found)
    throw new Error(`${from.name}: its ${key} (${String(value)}) is no ${type} in the graph`);
  return found;
}

/** A pricer for types whose resources are priced one by one. */
const each =
  (price: (r: EvaluatedResource, ctx: PricingContext) => CostLine | CostLine[]): Pricer =>
  (resources, ctx) =>
    resources.flatMap((r) => price(r, ctx));

/** An ECS service, with its own task definition and its own autoscaling target. */
function priceService(service: EvaluatedResource, ctx: PricingContext): CostLine[] {
  const { p, assume } = ctx;
  const task = referenced(ctx, service, "taskDefinition", "aws:ecs/taskDefinition:TaskDefinition");
  const cluster = referenced(ctx, service, "cluster", "aws:ecs/cluster:Cluster");
  const vcpu = Number(input(task, "cpu")) / 1024;
  const gb = Number(input(task, "memory")) / 1024;
  const arch =
    input<{ cpuArchitecture?: string }>(task, "runtimePlatform")?.cpuArchitecture === "ARM64"
      ? "arm"
      : "x86";
  const spot = usesFargateSpot(service);
  const resourceId = `service/${String(input(cluster, "name"))}/${String(input(service, "name"))}`;
  const target = ctx
    .all("aws:appautoscaling/target:Target")
    .find(
      (t) =>
        input(t, "serviceNamespace") === "ecs" &&
        input(t, "scalableDimension") === "ecs:service:DesiredCount" &&
        input(t, "resourceId") === resourceId,
    );
  const min = Number(target ? input(target, "minCapacity") : input(service, "desiredCount"));
  const max = Number(target ? input(target, "maxCapacity") : min);
  // Autoscaling follows load: the average task count, never below min nor above max.
  const average = Math.min(
    max,
    Math.max(min, ctx.requestsPerSecond / assume.requestsPerSecondPerTask),
  );
  const kind = spot ? `spot.${arch}` : arch;
  const taskMonth =
    ctx.hoursPerMonth * (vcpu * p(`fargate.${kind}.vcpuHour`) + gb * p(`fargate.${kind}.gbHour`));
  const lines = [
    line(
      service,
      "Fargate",
      `${min}-${max} × ${vcpu} vCPU / ${gb} GB ${arch.toUpperCase()}${spot ? " Spot" : ""}, avg ${average.toFixed(2)} at traffic`,
      min * taskMonth,
      average * taskMonth,
    ),
  ];
  if (input<{ registryArn?: string }>(service, "serviceRegistries")?.registryArn) {
    lines.push(
      line(
        `${service.name} (Cloud Map)`,
        "Cloud Map",
        "registered instances",
        min * p("cloudmap.instanceMonth"),
        Math.ceil(average) * p("cloudmap.instanceMonth"),
      ),
    );
  }
  return lines;
}

/** Resource type -> the function that prices its resources. Report order follows this table. */
export const pricers: Record<string, Pricer> = {
  // --- compute ---
  // The API's and the worker's EMF metrics are priced with the API service: a stage with no
  // deployed API (sst dev) emits none.
  "aws:ecs/service:Service": (services, ctx) => [
    ...services.flatMap((s) => priceService(s, ctx)),
    priceCustomMetrics(ctx),
  ],

  // --- database ---
  "aws:rds/instance:Instance": each((db, { p, hoursPerMonth }) => {
    const klass = String(input(db, "instanceClass"));
    const copies = input(db, "multiAz") ? 2 : 1;
    const storage = Number(input(db, "allocatedStorage"));
    if (!(storage > 0)) throw new Error(`${db.name}: no allocatedStorage to price`);
    // Storage autoscaling grows the volume without a deploy, up to maxAllocatedStorage: idle is
    // what is allocated, the ceiling is what it can reach (never shrinks back).
    const max = Math.max(storage, Number(input(db, "maxAllocatedStorage") ?? storage));
    const ceiling = copies * max * p("rds.gp3.gbMonth");
    return [
      line(
        db,
        "RDS",
        `${klass} × ${copies}${copies === 2 ? " (Multi-AZ)" : ""}`,
        copies * hoursPerMonth * p(`rds.${klass}.hour`),
      ),
      line(
        `${db.name} storage`,
        "RDS",
        `${storage} GB gp3 × ${copies}${max > storage ? `, grows on its own to ${max} GB: at most $${ceiling.toFixed(2)}` : ""}`,
        copies * storage * p("rds.gp3.gbMonth"),
      ),
    ];
  }),

  // Aurora Serverless v2 (SLIPWAY_DATABASE=aurora-serverless): each instance bills its ACUs by
  // the second, between the cluster's minimum and maximum; at 0 it pauses and bills nothing.
  "aws:rds/clusterInstance:ClusterInstance": each((member, ctx) => {
    const { min, max, pauses } = auroraCapacity(member, ctx);
    const { p, hoursPerMonth, requestsPerSecond, assume } = ctx;
    const acuHour = p("aurora.serverlessV2.acuHour");
    // Paused, it wakes for the schedules (the hourly cleanup) and stays up until idle again.
    const wakeHours = pauses
      ? (scheduledHours(ctx.evaluation, hoursPerMonth) * assume.auroraAwakeMinutesPerWake) / 60
      : hoursPerMonth;
    const awakeAcu = Math.max(min, 0.5);
    const average = Math.min(
      max,
      Math.max(awakeAcu, requestsPerSecond / assume.requestsPerSecondPerAcu),
    );
    const trafficHours = ctx.requestsPerMonth > 0 ? hoursPerMonth : wakeHours;
    return line(
      member,
      "Aurora",
      `${min}-${max} ACU${pauses ? `, pauses: ~${wakeHours.toFixed(0)} h awake idle` : ""}, avg ${average.toFixed(2)} ACU at traffic`,
      wakeHours * awakeAcu * acuHour,
      trafficHours * average * acuHour,
    );
  }),
  "aws:rds/cluster:Cluster": each((cluster, { p, assume, requestsPerMonth }) => {
    const gb = assume.auroraStorageGb;
    const ios = requestsPerMonth * assume.auroraIosPerRequest;
    return line(
      `${cluster.name} storage`,
      "Aurora",
      `${gb} GB used (Aurora Standard), ${(ios / 1e6).toFixed(1)}M I/O at traffic`,
      gb * p("aurora.storage.gbMonth"),
      gb * p("aurora.storage.gbMonth") + (ios / 1e6) * p("aurora.io.million"),
    );
  }),
  // RDS Proxy bills the capacity of what it fronts: an instance's vCPUs (at least 2), or an
  // Aurora Serverless cluster's ACUs (at least 8), every hour it exists.
  "aws:rds/proxy:Proxy": each((proxy, ctx) => {
    const { p, hoursPerMonth } = ctx;
    const target = ctx
      .all("aws:rds/proxyTarget:ProxyTarget")
      .find(
        (t) =>
          input(t, "dbProxyName") === (input<string | undefined>(proxy, "name") ?? proxy.name) ||
          refersTo(input(t, "dbProxyName"), proxy),
      );
    if (!target) throw new Error(`${proxy.name}: no aws:rds/proxyTarget:ProxyTarget names it`);
    const clusterId = input<string | undefined>(target, "dbClusterIdentifier");
    if (clusterId) {
      const members = ctx.all("aws:rds/clusterInstance:ClusterInstance");
      const minimum = p("rdsProxy.serverless.minAcu");
      const acus = (traffic: boolean) =>
        members.reduce((sum, m) => {
          const { min, max } = auroraCapacity(m, ctx);
          const load = traffic ? ctx.requestsPerSecond / ctx.assume.requestsPerSecondPerAcu : 0;
          return sum + Math.min(max, Math.max(min, 0.5, load));
        }, 0);
      const month = (n: number) =>
        hoursPerMonth * Math.max(minimum, n) * p("rdsProxy.serverless.acuHour");
      return line(
        proxy,
        "RDS Proxy",
        `Aurora Serverless: per ACU, at least ${minimum} ACU`,
        month(acus(false)),
        month(acus(true)),
      );
    }
    const instanceId = input<string | undefined>(target, "dbInstanceIdentifier");
    const db = ctx
      .all("aws:rds/instance:Instance")
      .find((i) => input(i, "identifier") === instanceId);
    if (!db)
      throw new Error(`${proxy.name}: its target ${instanceId} is no RDS instance in the graph`);
    const klass = String(input(db, "instanceClass"));
    const vcpus = Math.max(p(`rds.${klass}.vcpus`), p("rdsProxy.provisioned.minVcpu"));
    return line(
      proxy,
      "RDS Proxy",
      `${vcpus} vCPU of ${klass}`,
      hoursPerMonth * vcpus * p("rdsProxy.provisioned.vcpuHour"),
    );
  }),
  // --- cache (SLIPWAY_CACHE=valkey) ---
  // ElastiCache Serverless: stored GB-hours, never under the engine's minimum (100 MB for
  // Valkey), and ECPUs (a command on up to 1 KB is one). Idle pays the minimum storage.
  "aws:elasticache/serverlessCache:ServerlessCache": each(
    (cache, { p, assume, hoursPerMonth, requestsPerMonth }) => {
      const engine = String(input(cache, "engine"));
      if (engine !== "valkey")
        throw new Error(`${cache.name}: only the valkey engine is priced, got ${engine}`);
      const minimum = p("elasticache.serverless.valkey.minGb");
      const stored = Math.max(minimum, assume.cacheStoredGb);
      const storage = (gb: number) =>
        gb * hoursPerMonth * p("elasticache.serverless.valkey.gbHour");
      const ecpuMillions = (requestsPerMonth * assume.cacheCommandsPerRequest) / 1e6;
      return line(
        cache,
        "ElastiCache",
        `Serverless Valkey: ${stored} GB stored (min ${minimum}) + ${ecpuMillions.toFixed(1)}M ECPUs`,
        storage(minimum),
        storage(stored) + ecpuMillions * p("elasticache.serverless.valkey.ecpuMillion"),
      );
    },
  ),

  // --- network ---
  "aws:ec2/instance:Instance": each((instance, { p, hoursPerMonth }) => {
    const type = String(input(instance, "instanceType"));
    const role = instance.name.includes("Bastion") ? "bastion" : "NAT";
    return line(instance, "EC2", `${type} (${role})`, hoursPerMonth * p(`ec2.${type}.hour`));
  }),
  "aws:ec2/eip:Eip": each((ip, { p, hoursPerMonth }) =>
    line(ip, "Public IPv4", "Elastic IP", hoursPerMonth * p("vpc.publicIpv4.hour")),
  ),
  "aws:ec2/natGateway:NatGateway": (gateways, { p, assume, hoursPerMonth, requestsPerMonth }) =>
    gateways.map((nat) => {
      const gb =
        (assume.natBaseGbPerMonth + (requestsPerMonth * assume.natBytesPerRequest) / GB) /
        gateways.length;
      return line(
        nat,
        "NAT gateway",
        `hourly + ${gb.toFixed(1)} GB processed`,
        hoursPerMonth * p("vpc.natGateway.hour"),
        hoursPerMonth * p("vpc.natGateway.hour") + gb * p("vpc.natGateway.gb"),
      );
    }),
  // A Cloud Map private DNS namespace is a Route 53 private hosted zone.
  "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": each((namespace, { p }) =>
    line(
      namespace,
      "Route 53",
      "private hosted zone (Cloud Map namespace)",
      p("route53.hostedZoneMonth"),
    ),
  ),
  "aws:ec2/vpcEndpoint:VpcEndpoint": each((endpoint, { p, hoursPerMonth }) => {
    if (input(endpoint, "vpcEndpointType") === "Gateway")
      return line(endpoint, "VPC endpoint", "gateway (free)", 0);
    // An interface endpoint has a network interface, billed hourly, in each of its subnets.
    const azs = (input<string[]>(endpoint, "subnetIds") ?? []).length;
    if (azs === 0) throw new Error(`${endpoint.name}: an interface endpoint with no subnets`);
    return line(
      endpoint,
      "VPC endpoint",
      `interface × ${azs} AZ`,
      azs * hoursPerMonth * p("vpc.interfaceEndpoint.hourPerAz"),
    );
  }),
  "aws:lb/loadBalancer:LoadBalancer": each(
    (lb, { p, assume, hoursPerMonth, requestsPerSecond }) => {
      const kind = input<string | undefined>(lb, "loadBalancerType") ?? "application";
      if (kind !== "application")
        throw new Error(`${lb.name}: a ${kind} load balancer is unpriced`);
      const lcu =
        (requestsPerSecond * assume.newConnectionsPerRequest) /
        p("elb.alb.lcuNewConnectionsPerSecond");
      const lines = [
        line(
          lb,
          "ALB",
          `hourly + ${lcu.toFixed(2)} LCU`,
          hoursPerMonth * p("elb.alb.hour"),
          hoursPerMonth * (p("elb.alb.hour") + lcu * p("elb.alb.lcuHour")),
        ),
      ];
      // An internet-facing ALB holds a public IPv4 address in each of its subnets (AZs).
      const addresses = input(lb, "internal") ? 0 : (input<string[]>(lb, "subnets") ?? []).length;
      if (addresses > 0)
        lines.push(
          line(
            `${lb.name} IPv4`,
            "Public IPv4",
            `${addresses} addresses`,
            addresses * hoursPerMonth * p("vpc.publicIpv4.hour"),
          ),
        );
      return lines;
    },
  ),

  // --- entry ---
  "aws:apigatewayv2/api:Api": each((api, ctx) => {
    // Requests reach it only if it routes somewhere.
    const routed = ctx
      .all("aws:apigatewayv2/route:Route")
      .some((route) => refersTo(input(route, "apiId"), api));
    const cost = routed ? (ctx.requestsPerMonth / 1e6) * ctx.p("apigateway.http.million") : 0;
    return line(api, "API Gateway", routed ? "HTTP API requests" : "no routes", 0, cost);
  }),
  "aws:cloudfront/distribution:Distribution": each((cdn, { p, assume, requestsPerMonth }) => {
    const million = requestsPerMonth / 1e6;
    const gbOut = (requestsPerMonth * assume.bytesOutPerRequest) / GB;
    const requestCost =
      Math.max(0, million - p("cloudfront.https.freeMillion")) * p("cloudfront.https.million");
    const dataCost =
      Math.max(0, gbOut - p("cloudfront.dataOut.freeGb")) * p("cloudfront.dataOut.gb");
    return line(
      cdn,
      "CloudFront",
      `${million.toFixed(1)}M requests, ${gbOut.toFixed(0)} GB out (free tier applied)`,
      0,
      requestCost + dataCost,
    );
  }),

  // --- tasks ---
  "aws:sqs/queue:Queue": (_queues, { p, assume, hoursPerMonth, tasksPerMonth, all }) => {
    // Lambda long-polls each subscribed queue from its pollers, busy or not.
    const pollsPerPoller = (hoursPerMonth * 3600) / assume.sqsLongPollSeconds;
    const polling =
      all("aws:lambda/eventSourceMapping:EventSourceMapping").length *
      assume.sqsPollersPerSubscription *
      pollsPerPoller;
    const trafficRequests = polling + tasksPerMonth * assume.sqsRequestsPerTask;
    const free = p("sqs.freeMillion") * 1e6;
    const cost = (n: number) => (Math.max(0, n - free) / 1e6) * p("sqs.million");
    return [
      line(
        "SQS",
        "SQS",
        `${(trafficRequests / 1e6).toFixed(2)}M requests at traffic incl. ${(polling / 1e6).toFixed(2)}M idle polling (${p("sqs.freeMillion")}M free)`,
        cost(polling),
        cost(trafficRequests),
      ),
    ];
  },
  "aws:lambda/function:Function": each((fn, { p, assume, tasksPerMonth, scheduledFires }) => {
    const gb = Number(input(fn, "memorySize") ?? LAMBDA_DEFAULT_MEMORY_MB) / 1024;
    const arm = (input<string[]>(fn, "architectures") ?? []).includes("arm64");
    const migrator = fn.name.startsWith("Migrator");
    const invocations = migrator ? assume.deploysPerMonth : tasksPerMonth + scheduledFires;
    const idleInvocations = migrator ? assume.deploysPerMonth : scheduledFires;
    const seconds = migrator ? assume.migratorSeconds : assume.workerSecondsPerTask;
    const perGbSecond = p(arm ? "lambda.arm.gbSecond" : "lambda.x86.gbSecond");
    const cost = (n: number) => (n / 1e6) * p("lambda.million") + n * gb * seconds * perGbSecond;
    return line(
      fn,
      "Lambda",
      `${Math.round(invocations)} invocations × ${gb} GB × ${seconds} s${arm ? " ARM" : ""}`,
      cost(idleInvocations),
      cost(invocations),
    );
  }),
  "aws:scheduler/schedule:Schedule": (schedules, { p, scheduledFires }) => {
    const cost =
      (Math.max(0, scheduledFires - p("scheduler.freeMillion") * 1e6) / 1e6) *
      p("scheduler.million");
    return [
      line(
        "EventBridge Scheduler",
        "Scheduler",
        `${schedules.length} schedules, ${scheduledFires} invocations (${p("scheduler.freeMillion")}M free)`,
        cost,
      ),
    ];
  },

  // --- storage, logs, secrets, alarms ---
  "aws:s3/bucket:Bucket": (buckets, { p, assume, requestsPerMonth }) => {
    const requests = requestsPerMonth * assume.s3RequestsPerRequest;
    const puts = requests * assume.s3PutShare;
    return [
      line(
        "S3",
        "S3",
        `${buckets.length} buckets, ${(requests / 1e6).toFixed(2)}M requests (${assume.s3PutShare * 100}% PUT)`,
        0,
        (puts / 1e6) * p("s3.put.million") + ((requests - puts) / 1e6) * p("s3.get.million"),
      ),
    ];
  },
  "aws:cloudwatch/logGroup:LogGroup": (groups, { p, assume, requestsPerMonth, tasksPerMonth }) => {
    const gb =
      (requestsPerMonth * assume.logBytesPerRequest + tasksPerMonth * assume.logBytesPerTask) / GB;
    return [
      line(
        "CloudWatch Logs",
        "Logs",
        `${groups.length} log groups, ${gb.toFixed(2)} GB ingested`,
        0,
        gb * p("cloudwatch.logs.gbIngested"),
      ),
    ];
  },
  "aws:secretsmanager/secret:Secret": each((secret, { p }) =>
    line(secret, "Secrets Manager", "secret", p("secretsmanager.secretMonth")),
  ),
  // The API's ECS secrets and SST's bastion key. Standard parameters (the default tier) have no
  // monthly charge, and ECS reads them at the standard throughput, also free; Advanced ones do.
  "aws:ssm/parameter:Parameter": each((parameter, { p }) => {
    const tier = input<string | undefined>(parameter, "tier") ?? "Standard";
    if (tier === "Standard") return line(parameter, "SSM", "standard parameter (free)", 0);
    return line(parameter, "SSM", `${tier} parameter`, p("ssm.advancedParameterMonth"));
  }),
  // Billed per metric an alarm reads: a metric-math alarm on two metrics is two (CloudWatch pricing).
  "aws:cloudwatch/metricAlarm:MetricAlarm": each((alarm, { p }) => {
    const queries = input<{ metric?: unknown }[] | undefined>(alarm, "metricQueries") ?? [];
    const metrics = Math.max(1, queries.filter((q) => q.metric).length);
    const detail = metrics > 1 ? `standard alarm on ${metrics} metrics` : "standard alarm";
    return line(alarm, "Alarm", detail, metrics * p("cloudwatch.alarmMetricMonth"));
  }),
  "aws:cloudwatch/dashboard:Dashboard": each((dashboard, { p }) =>
    line(dashboard, "Dashboard", "CloudWatch dashboard", p("cloudwatch.dashboardMonth")),
  ),
};

/** An Aurora instance's capacity range, from its cluster's scaling configuration. */
function auroraCapacity(
  member: EvaluatedResource,
  ctx: PricingContext,
): { min: number; max: number; pauses: boolean } {
  const cluster = referenced(ctx, member, "clusterIdentifier", "aws:rds/cluster:Cluster");
  const scaling = input<
    { minCapacity?: number; maxCapacity?: number; secondsUntilAutoPause?: number } | undefined
  >(cluster, "serverlessv2ScalingConfiguration");
  if (scaling?.minCapacity === undefined || scaling.maxCapacity === undefined)
    throw new Error(`${cluster.name}: no Serverless v2 capacity range to price`);
  return {
    min: scaling.minCapacity,
    max: scaling.maxCapacity,
    pauses: scaling.minCapacity === 0,
  };
}

/** The EMF lines one API task writes a minute at most: one per route group, task and the stage's. */
const EMF_LINES_PER_MINUTE = 1 + ROUTE_GROUPS.length + TASK_NAMES.length;
/** Bytes of one EMF line (a histogram of a few dozen buckets and its metadata). */
const EMF_LINE_BYTES = 600;

/**
 * The app's custom metrics (EMF, packages/core/src/observability/metric-catalog.ts): billed per
 * metric-month, prorated by the hours a metric receives data. Idle, the schedules' tasks still
 * run (their duration and queue age have data in every hour one fires); at traffic, every metric
 * the catalog allows is counted as active every hour, the most it can cost.
 */
function priceCustomMetrics(ctx: PricingContext): CostLine {
  const { p, hoursPerMonth, requestsPerMonth } = ctx;
  const perTask = 2; // TaskDuration and TaskQueueAge; TaskFailures only when one fails
  const idleMetricMonths =
    (perTask * scheduledHours(ctx.evaluation, hoursPerMonth)) / hoursPerMonth;
  const most = customMetricCount();
  const active = requestsPerMonth > 0 ? most : idleMetricMonths;
  const logGb =
    requestsPerMonth > 0 ? (EMF_LINES_PER_MINUTE * EMF_LINE_BYTES * hoursPerMonth * 60) / GB : 0;
  return line(
    "CloudWatch custom metrics",
    "Metrics",
    `EMF, at most ${most} metrics; idle ${idleMetricMonths.toFixed(2)} metric-months (the schedules' tasks)${logGb > 0 ? `, ${logGb.toFixed(2)} GB of EMF lines` : ""}`,
    idleMetricMonths * p("cloudwatch.customMetricMonth"),
    active * p("cloudwatch.customMetricMonth") + logGb * p("cloudwatch.logs.gbIngested"),
  );
}

const bucketSetting = "bucket configuration, no charge of its own";
const deployTime = "runs at deploy on the deploying machine, nothing to pay per month";
const network = "no charge of its own (the traffic through it is priced where it is billed)";

/** Resource type -> why it costs nothing of its own (or is paid on another type's line). */
export const free: Record<string, string> = {
  "aws:apigatewayv2/integration:Integration": "part of the HTTP API, priced per request",
  "aws:apigatewayv2/route:Route": "part of the HTTP API, priced per request",
  "aws:apigatewayv2/stage:Stage": "part of the HTTP API, priced per request",
  "aws:apigatewayv2/vpcLink:VpcLink": "an HTTP API's VPC link has no charge of its own",
  "aws:appautoscaling/policy:Policy":
    "Application Auto Scaling has no charge; the tasks are priced",
  "aws:appautoscaling/target:Target": "read by its ECS service's pricer (min and max tasks)",
  "aws:cloudfront/cachePolicy:CachePolicy": "distribution configuration, no charge of its own",
  "aws:cloudfront/originRequestPolicy:OriginRequestPolicy":
    "distribution configuration, no charge of its own",
  "aws:acm/certificate:Certificate":
    "a public ACM certificate (SLIPWAY_DOMAIN's, for CloudFront) has no charge",
  "aws:acm/certificateValidation:CertificateValidation":
    "waits for the certificate to be issued, at deploy, no charge",
  "aws:route53/record:Record":
    "records have no monthly charge (alias queries to CloudFront are free); the domain's hosted zone is the domain owner's, outside this app",
  "aws:sesv2/configurationSet:ConfigurationSet":
    "SES bills per message sent, not per configuration set",
  "aws:sesv2/emailIdentity:EmailIdentity": "SES bills per message sent, not per identity",
  "aws:ses/domainIdentityVerification:DomainIdentityVerification":
    "waits for SES to verify the domain at deploy, no charge",
  "aws:sns/topicSubscription:TopicSubscription":
    "an email subscription: SNS's first 1,000 email notifications a month are free, and the alarms send a handful",
  "pulumi:providers:aws":
    "a provider configuration (SST's us-east-1 provider for CloudFront's certificate), no cloud resource",
  "tls:index/privateKey:PrivateKey":
    "generated by Pulumi (the bastion's SSH key), no cloud resource",
  "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy":
    "distribution configuration, no charge of its own",
  "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": network,
  "aws:ec2/eipAssociation:EipAssociation": "the address is priced on its Elastic IP's line",
  "aws:ec2/internetGateway:InternetGateway": network,
  "aws:ec2/routeTable:RouteTable": network,
  "aws:ec2/routeTableAssociation:RouteTableAssociation": network,
  "aws:ec2/securityGroup:SecurityGroup": network,
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": network,
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": network,
  "aws:ec2/keyPair:KeyPair": "an EC2 key pair (the bastion's SSH key) has no charge",
  "aws:ec2/subnet:Subnet": network,
  "aws:ec2/vpc:Vpc": network,
  "aws:ecs/cluster:Cluster": "no charge on Fargate; its services' tasks are priced",
  "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": "cluster configuration, no charge",
  "aws:ecs/taskDefinition:TaskDefinition": "priced as the tasks of the service that runs it",
  "aws:iam/instanceProfile:InstanceProfile": "IAM has no charge",
  "aws:iam/role:Role": "IAM has no charge",
  "aws:lambda/eventSourceMapping:EventSourceMapping": "its SQS polling is priced on the SQS line",
  "aws:lambda/invocation:Invocation": "one run per deploy, priced on the invoked function's line",
  "aws:lb/listener:Listener": "part of its load balancer's hours and LCUs",
  "aws:lb/targetGroup:TargetGroup": "part of its load balancer's hours and LCUs",
  "aws:rds/parameterGroup:ParameterGroup": "database configuration, no charge",
  "aws:rds/clusterParameterGroup:ClusterParameterGroup": "database configuration, no charge",
  "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": "priced with its RDS Proxy",
  "aws:rds/proxyTarget:ProxyTarget": "read by its RDS Proxy's pricer (what it fronts)",
  "aws:rds/subnetGroup:SubnetGroup": "database configuration, no charge",
  "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": bucketSetting,
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": bucketSetting,
  "aws:s3/bucketObjectv2:BucketObjectv2":
    "a function's code zip in SST's asset bucket (S3 storage is not priced: see the assumptions)",
  "aws:s3/bucketPolicy:BucketPolicy": bucketSetting,
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": bucketSetting,
  "aws:secretsmanager/secretVersion:SecretVersion": "priced with its secret",
  "aws:servicediscovery/service:Service":
    "its registered instances are priced with the ECS service that registers them",
  "aws:sns/topic:Topic": "a topic has no charge; the alarms publish a handful of messages",
  "command:local:Command": deployTime,
  "docker-build:index:Image": `${deployTime} (ECR image storage is not priced: see the assumptions)`,
  "random:index/randomBytes:RandomBytes": "generated by Pulumi, no cloud resource",
  "random:index/randomPassword:RandomPassword": "generated by Pulumi, no cloud resource",
  // SST's dynamic providers, told apart by the provider each one runs (see `pricingType`).
  "pulumi-nodejs:dynamic:Resource#Aws.BucketFiles": `uploads the site's files: ${deployTime}`,
  "pulumi-nodejs:dynamic:Resource#Aws.DistributionDeploymentWaiter": `waits for CloudFront: ${deployTime}`,
  "pulumi-nodejs:dynamic:Resource#Aws.DistributionInvalidation":
    "one invalidation path per deploy (CloudFront's first 1,000 paths a month are free)",
  "pulumi-nodejs:dynamic:Resource#Aws.KvKeys": `writes the Router's keys: ${deployTime}`,
  "pulumi-nodejs:dynamic:Resource#Aws.HostedZoneLookup": `finds SLIPWAY_DOMAIN's hosted zone: ${deployTime}`,
  "pulumi-nodejs:dynamic:Resource#Aws.KvRoutesUpdate": `updates the Router's routes: ${deployTime}`,
};

/** Resource type -> what it is billed for that this model leaves out (printed with every report). */
export const notPriced: Record<string, string> = {
  "aws:cloudfront/function:Function":
    "billed per invocation, and the Router's viewer-request function runs on every request",
  "aws:cloudfront/keyValueStore:KeyValueStore":
    "billed per read, and the Router's function reads it on every request",
};

/**
 * The type a resource is priced under: its Pulumi type token, except for dynamic resources,
 * which all share one token and are told apart by the provider they run.
 */
export function pricingType(r: EvaluatedResource): string {
  if (r.type !== "pulumi-nodejs:dynamic:Resource") return r.type;
  const provider = String(r.inputs.__provider ?? "");
  const kind = /__provider\.type = "([^"]+)"/.exec(provider)?.[1] ?? "unknown";
  return `${r.type}#${kind}`;
}

/**
 * The cloud resources of a graph by pricing type (components only group others: skipped; so are
 * resources read from another stage, a preview's base VPC and database: the base pays for them).
 */
function byType(evaluation: Evaluation): Map<string, EvaluatedResource[]> {
  const groups = new Map<string, EvaluatedResource[]>();
  for (const r of evaluation.resources) {
    if (!r.custom || r.read) continue;
    const type = pricingType(r);
    groups.set(type, [...(groups.get(type) ?? []), r]);
  }
  return groups;
}

/** The types in the graph that are neither priced, nor free, nor listed as not priced. */
export function unclassified(evaluation: Evaluation): { type: string; resources: string[] }[] {
  return [...byType(evaluation)]
    .filter(([type]) => !(type in pricers || type in free || type in notPriced))
    .map(([type, resources]) => ({ type, resources: resources.map((r) => r.name) }))
    .sort((a, b) => a.type.localeCompare(b.type));
}

export class UnpricedResourceError extends Error {
  constructor(readonly types: { type: string; resources: string[] }[]) {
    super(
      [
        "resource types with no price (add a pricer, or list the type as free or not priced, in scripts/cost/price.ts):",
        ...types.map((t) => `  ${t.type}: ${t.resources.join(", ")}`),
      ].join("\n"),
    );
    this.name = "UnpricedResourceError";
  }
}

export function price(
  evaluation: Evaluation,
  requestsPerMonth: number,
  book: PriceBook = loadPrices(),
  assume: Assumptions = defaultAssumptions,
): CostReport {
  const missing = unclassified(evaluation);
  if (missing.length > 0) throw new UnpricedResourceError(missing);

  const groups = byType(evaluation);
  const hoursPerMonth = book.hoursPerMonth;
  const p = (key: string) => {
    const entry = book.prices[key];
    if (!entry) throw new Error(`no price "${key}" in prices.json`);
    return entry.usd;
  };
  const ctx: PricingContext = {
    evaluation,
    assume,
    hoursPerMonth,
    requestsPerMonth,
    requestsPerSecond: requestsPerMonth / (hoursPerMonth * 3600),
    tasksPerMonth: requestsPerMonth * assume.tasksPerRequest,
    scheduledFires: scheduledPerMonth(evaluation, hoursPerMonth),
    p,
    all: (type) => groups.get(type) ?? [],
  };
  const lines = Object.entries(pricers).flatMap(([type, pricer]) => {
    const resources = groups.get(type) ?? [];
    return resources.length > 0 ? pricer(resources, ctx) : [];
  });

  const leftOut = [...groups]
    .filter(([type]) => type in notPriced)
    .map(
      ([type, resources]) =>
        `not priced: ${type} (${resources.map((r) => r.name).join(", ")}): ${notPriced[type]}`,
    );
  const round = (n: number) => Math.round(n * 100) / 100;
  const rounded = lines.map((l) => ({ ...l, idle: round(l.idle), atTraffic: round(l.atTraffic) }));
  return {
    stage: evaluation.app.stage,
    requestsPerMonth,
    lines: rounded,
    idle: round(lines.reduce((sum, l) => sum + l.idle, 0)),
    atTraffic: round(lines.reduce((sum, l) => sum + l.atTraffic, 0)),
    assumptions: [
      `${hoursPerMonth} hours per month, ${book.region} list prices (scripts/cost/prices.json)`,
      `${assume.tasksPerRequest} background tasks per request, ${assume.workerSecondsPerTask} s each, one Lambda invocation per task, ${assume.sqsRequestsPerTask} SQS requests per task`,
      `${assume.requestsPerSecondPerTask} requests/s per 0.25 vCPU API task; tasks average load/capacity between min and max`,
      `${assume.bytesOutPerRequest} bytes out and ${assume.logBytesPerRequest} log bytes per request, ${assume.logBytesPerTask} log bytes per task`,
      `${assume.natBytesPerRequest} bytes per request + ${assume.natBaseGbPerMonth} GB/month through NAT (priced only for a NAT gateway; fck-nat has no per-GB fee)`,
      `${assume.sqsPollersPerSubscription} Lambda pollers per SQS subscription, each a ${assume.sqsLongPollSeconds} s long poll at a time`,
      `${assume.deploysPerMonth} deploys per month (migrator runs)`,
      `with SLIPWAY_CACHE=valkey: ${assume.cacheCommandsPerRequest} cache command (1 ECPU) per request, ${assume.cacheStoredGb} GB stored`,
      `free tiers (SQS ${p("sqs.freeMillion")}M, Scheduler ${p("scheduler.freeMillion")}M, CloudFront ${p("cloudfront.https.freeMillion")}M requests + ${p("cloudfront.dataOut.freeGb")} GB) counted as if this stage were alone in its account`,
      `Aurora (if any): ${assume.requestsPerSecondPerAcu} requests/s per ACU, ${assume.auroraStorageGb} GB used, ${assume.auroraIosPerRequest} I/O per request; paused, ${assume.auroraAwakeMinutesPerWake} min awake per hour a schedule fires`,
      "RDS storage is priced as allocated; storage autoscaling may grow it to maxAllocatedStorage without a deploy (its line names that ceiling and its price)",
      "not priced: data transfer between AZs and out to the internet, ECR image storage (~$0.02), CloudWatch Logs storage, S3 storage, the NAT instances' EBS root volumes",
      ...leftOut,
    ],
  };
}

/** Hours of the month in which some schedule fires (each schedule's, summed: their metrics differ). */
function scheduledHours(evaluation: Evaluation, hoursPerMonth: number): number {
  const start = SCHEDULE_COUNT_START;
  const end = start.getTime() + hoursPerMonth * 3_600_000;
  let hours = 0;
  for (const schedule of evaluation.resources.filter(
    (r) => r.type === "aws:scheduler/schedule:Schedule",
  )) {
    const expression = String(schedule.inputs.scheduleExpression);
    const timezone = String(schedule.inputs.scheduleExpressionTimezone ?? "UTC");
    const fires = fireTimesUntil(expression, timezone, start, new Date(end));
    hours += new Set(fires.map((fire) => Math.floor(fire.getTime() / 3_600_000))).size;
  }
  return hours;
}

/** Invocations per month of every schedule in the graph, from their real expressions. */
function scheduledPerMonth(evaluation: Evaluation, hoursPerMonth: number): number {
  const start = SCHEDULE_COUNT_START;
  const end = start.getTime() + hoursPerMonth * 3_600_000;
  let fires = 0;
  for (const schedule of evaluation.resources.filter(
    (r) => r.type === "aws:scheduler/schedule:Schedule",
  )) {
    const expression = String(schedule.inputs.scheduleExpression);
    const timezone = String(schedule.inputs.scheduleExpressionTimezone ?? "UTC");
    fires += fireTimesUntil(expression, timezone, start, new Date(end)).length;
  }
  return fires;
}
