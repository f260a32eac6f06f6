import {
  METRICS,
  METRICS_NAMESPACE,
  ROUTE_GROUPS,
  TASK_NAMES,
} from "../../packages/core/src/observability/metric-catalog";
import { schedules } from "../../packages/core/src/schedules";
import {
  type EvaluatedResource,
  type Evaluation,
  usesFargateSpot,
} from "../../scripts/infra/evaluate";

/**
 * The design's promises, checked on an evaluated resource graph. Each check returns the
 * violations it found (empty = holds), so a test can show both that the real config passes and
 * that a broken copy is caught.
 */

/**
 * `preview`: a stage sharing its base's VPC and RDS instance (ADR 026), deployed; `dev`: any
 * stage under `sst dev`.
 */
export type StageKind = "production" | "staging" | "preview" | "dev";
type Check = (graph: Graph, kind: StageKind) => string[];

class Graph {
  constructor(readonly evaluation: Evaluation) {}
  /** What this stage creates (not what it reads from another stage). */
  get resources() {
    return this.evaluation.resources.filter((resource) => !resource.read);
  }
  /** What it reads from another stage with `Resource.get` (a preview's base VPC, its database). */
  reads(type: string): EvaluatedResource[] {
    return this.evaluation.resources.filter((r) => r.read && r.type === type);
  }
  all(type: string): EvaluatedResource[] {
    return this.resources.filter((resource) => resource.type === type);
  }
  one(type: string, name?: string): EvaluatedResource | undefined {
    return this.all(type).find((resource) => name === undefined || resource.name === name);
  }
  /** The ARN the mocks gave a resource. */
  arn(resource: EvaluatedResource): string {
    const service = resource.type.split(":")[1]?.split("/")[0] ?? "mock";
    return `arn:aws:${service}:us-east-1:123456789012:${resource.name}`;
  }
  /** IDs the mocks gave private subnets (no public IP on launch), this stage's or its base's. */
  get privateSubnetIDs(): Set<string> {
    return new Set(
      [...this.all("aws:ec2/subnet:Subnet"), ...this.reads("aws:ec2/subnet:Subnet")]
        .filter((subnet) => subnet.inputs.mapPublicIpOnLaunch !== true)
        .map((subnet) => subnet.read ?? `${subnet.name}-id`),
    );
  }
}

const input = <T = unknown>(resource: EvaluatedResource, key: string) => resource.inputs[key] as T;

/**
 * The alarms a person acts on: all but the scaling triggers, whose only actions are the API's
 * Application Auto Scaling policies (the scale-in step, ADR 032; checked on their own).
 */
function personAlarms(graph: Graph): EvaluatedResource[] {
  const policies = new Set(
    graph.all("aws:appautoscaling/policy:Policy").map((policy) => graph.arn(policy)),
  );
  return graph.all("aws:cloudwatch/metricAlarm:MetricAlarm").filter((alarm) => {
    const actions = input<string[]>(alarm, "alarmActions") ?? [];
    return !(actions.length > 0 && actions.every((action) => policies.has(action)));
  });
}

/** The database the stage variables chose (infra/database-shape.ts): engine and proxy. */
function databaseVariant(graph: Graph): { aurora: boolean; proxy: boolean } {
  const vars = graph.evaluation.variables;
  return {
    aurora: vars.SLIPWAY_DATABASE === "aurora-serverless",
    proxy: vars.SLIPWAY_DB_PROXY === "true",
  };
}

/** Whether a subnet group's subnets are all private ones of the graph (and there are some). */
function privateSubnetGroup(graph: Graph, groupName: unknown): string | undefined {
  const group = graph
    .all("aws:rds/subnetGroup:SubnetGroup")
    .find((g) => input(g, "name") === groupName);
  const subnets = group ? input<string[]>(group, "subnetIds") : [];
  const privateIDs = graph.privateSubnetIDs;
  return subnets.length === 0 || subnets.some((id) => !privateIDs.has(id))
    ? `subnet group is not private-only: ${subnets.join(", ")}`
    : undefined;
}

/** The stage's own RDS instances that are not read replicas. */
const primaries = (graph: Graph) =>
  graph.all("aws:rds/instance:Instance").filter((r) => input(r, "replicateSourceDb") === undefined);

const DATA_SERVICES = [
  "s3",
  "sqs",
  "ses",
  "rds-db",
  "dynamodb",
  "sns",
  "kms",
  // Secret stores: reading every parameter or secret of the account reads the database's master
  // password (SST's Postgres keeps it in Secrets Manager).
  "ssm",
  "secretsmanager",
];

/** The actions that read a secret store's values (a wildcard covering one counts, any case). */
const SECRET_READS = [
  "ssm:GetParameter",
  "ssm:GetParameters",
  "ssm:GetParametersByPath",
  "secretsmanager:GetSecretValue",
  "secretsmanager:BatchGetSecretValue",
];

/** The roles the app's own code runs as (the ones its links and permissions shape). */
const APP_ROLES = ["ApiTaskRole", "ApiExecutionRole", "WorkerRole", "MigratorRole"];

/** A security group rule, inline or its own resource, in one shape. */
interface Rule {
  group: string;
  direction: "ingress" | "egress";
  protocol: string;
  fromPort: number;
  toPort: number;
  cidrs: string[];
  /** The security group on the other end, by resource name. */
  peer?: string;
}

/** The resource a mock id (`<name>-id`) names. */
const idName = (id: unknown) =>
  typeof id === "string" && id.endsWith("-id") ? id.slice(0, -3) : String(id);

function securityGroupRules(graph: Graph): Rule[] {
  const rules: Rule[] = [];
  for (const group of [
    ...graph.all("aws:ec2/securityGroup:SecurityGroup"),
    ...graph.all("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"),
  ]) {
    for (const direction of ["ingress", "egress"] as const) {
      const inline =
        input<
          {
            protocol: string;
            fromPort: number;
            toPort: number;
            cidrBlocks?: string[];
            securityGroups?: string[];
          }[]
        >(group, direction) ?? [];
      for (const rule of inline) {
        const base = { group: group.name, direction, protocol: rule.protocol };
        const ports = { fromPort: rule.fromPort, toPort: rule.toPort };
        if ((rule.cidrBlocks ?? []).length > 0 || !(rule.securityGroups ?? []).length)
          rules.push({ ...base, ...ports, cidrs: rule.cidrBlocks ?? [] });
        for (const peer of rule.securityGroups ?? [])
          rules.push({ ...base, ...ports, cidrs: [], peer: idName(peer) });
      }
    }
  }
  for (const [type, direction] of [
    ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "ingress"],
    ["aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "egress"],
  ] as const) {
    for (const rule of graph.all(type)) {
      const peer = input<string | undefined>(rule, "referencedSecurityGroupId");
      const cidr = input<string | undefined>(rule, "cidrIpv4");
      rules.push({
        group: idName(input(rule, "securityGroupId")),
        direction,
        protocol: input<string>(rule, "ipProtocol"),
        fromPort: input<number>(rule, "fromPort"),
        toPort: input<number>(rule, "toPort"),
        cidrs: cidr ? [cidr] : [],
        ...(peer ? { peer: idName(peer) } : {}),
      });
    }
  }
  return rules;
}

const describeRule = (r: Rule) =>
  `${r.protocol} ${r.fromPort}-${r.toPort} ${r.direction === "ingress" ? "from" : "to"} ${r.peer ?? r.cidrs.join(",")}`;

/** The containers of the (one) task definition, or none (under `sst dev`). */
function containers(graph: Graph): {
  environment?: { name: string; value: string }[];
  secrets?: { name: string; valueFrom: string }[];
}[] {
  const task = graph.one("aws:ecs/taskDefinition:TaskDefinition");
  return task ? JSON.parse(String(input(task, "containerDefinitions"))) : [];
}

/** A Lambda function's environment variables. */
const lambdaEnv = (fn: EvaluatedResource | undefined) =>
  (fn && input<{ variables?: Record<string, string> }>(fn, "environment")?.variables) ?? {};

/** A component's link properties, as its LinkRef recorded them. */
const linkProperties = (graph: Graph, name: string) =>
  graph.one("sst:sst:LinkRef", `${name}LinkRef`)?.inputs.properties as
    | Record<string, unknown>
    | undefined;

/**
 * Every secret value in the graph: each generated password (the mocks make its result
 * `mock-secret-<name>`) and the SentryDsn secret's value.
 */
function secretValues(graph: Graph): Map<string, string> {
  const found = new Map<string, string>();
  for (const password of graph.all("random:index/randomPassword:RandomPassword"))
    found.set(`mock-secret-${password.name}`, password.name);
  // A preview's owner logs in with its base's master password (read from the base's secret).
  const master = linkProperties(graph, "Database")?.password;
  if (typeof master === "string" && master.startsWith("mock-secret-") && !found.has(master))
    found.set(master, "the database's master password");
  const dsn = linkProperties(graph, "SentryDsn")?.value;
  if (typeof dsn === "string" && dsn) found.set(dsn, "the SentryDsn secret");
  return found;
}

/** Whether a JSON value has a key named like a credential, at any depth. */
function hasCredentialKey(value: unknown): boolean {
  if (!value || typeof value !== "object") return false;
  return Object.entries(value).some(
    ([key, inner]) => /password|secret|dsn/i.test(key) || hasCredentialKey(inner),
  );
}

interface Statement {
  /**
   * As written, but the service prefix lower-cased (IAM compares actions case-insensitively:
   * `S3:GetObject` is `s3:GetObject`). An Allow with `NotAction` reads as `*` here (everything
   * but a list is, for these checks, everything), and its `notActions` say so.
   */
  actions: string[];
  /** As written; an Allow with `NotResource` reads as `*`, with `notResources` saying so. */
  resources: string[];
  notActions: string[];
  notResources: string[];
  /** Each condition as "<operator> <key> <values|…>", sorted; empty when unconditional. */
  conditions: string[];
}

/** `SQS:SendMessage` → `sqs:SendMessage`: the service prefix as the checks compare it. */
function lowerService(action: string): string {
  const colon = action.indexOf(":");
  return colon < 0 ? action : action.slice(0, colon).toLowerCase() + action.slice(colon);
}

/** Whether an IAM pattern (`*` any run, `?` one character) matches `value`, case-insensitively. */
export function iamMatches(pattern: string, value: string): boolean {
  const source = pattern
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, "i").test(value);
}

/**
 * Whether a Resource pattern names every resource (of a service, in some account): `*`, or an
 * ARN whose region, account or resource part is a bare `*` that runs to the end
 * (`arn:aws:secretsmanager:*`, `arn:aws:sqs:*:*:*`, `arn:aws:sqs:us-east-1:1:*`), or whose
 * resource part is only wildcards and separators (`arn:aws:s3:::*`, and every object of every
 * bucket, `*` then `/*`).
 */
export function everyResource(pattern: string): boolean {
  if (pattern === "*") return true;
  const parts = pattern.split(":");
  if (parts[0] !== "arn" || parts.length < 3) return false;
  // A last `*` in region or account runs across the colons after it (IAM's * matches any run).
  const last = parts.length - 1;
  if (last <= 5 && parts[last] === "*") return true;
  return parts.length >= 6 && parts.slice(5).join(":").replace(/[*/:]/g, "") === "";
}

/** Whether an action (`*`, `s3:Get*`, `s?:GetObject`) can be one of `service`'s. */
const actsOn = (action: string, service: string) =>
  iamMatches(action.includes(":") ? (action.split(":")[0] ?? "") : action, service);

/** Whether an action is a wildcard over a service (`sqs:*`, `sqs:*Message`, `s?s:Send*`) or all. */
const wildcardAction = (action: string) => /[*?]/.test(action);

/** Allow statements from an IAM document, in either the AWS or getPolicyDocument spelling. */
function statements(document: unknown): Statement[] {
  const parsed = typeof document === "string" ? JSON.parse(document) : document;
  const list = (parsed as { Statement?: unknown[] })?.Statement ?? [];
  const array = (value: unknown) =>
    (Array.isArray(value) ? value : value === undefined ? [] : [value]) as string[];
  const condition = (test: string, variable: string, values: unknown) =>
    `${test} ${variable} ${array(values).join("|")}`;
  return list
    .map((s) => s as Record<string, unknown>)
    .filter((s) => (s.Effect ?? s.effect ?? "Allow") === "Allow")
    .map((s) => ({
      notActions: array(s.NotAction ?? s.notActions),
      notResources: array(s.NotResource ?? s.notResources),
      actions: [
        ...array(s.Action ?? s.actions),
        ...((s.NotAction ?? s.notActions) ? ["*"] : []),
      ].map(lowerService),
      resources: [
        ...array(s.Resource ?? s.resources),
        ...((s.NotResource ?? s.notResources) ? ["*"] : []),
      ],
      conditions: [
        // AWS: { "StringLike": { "s3:prefix": [...] } }
        ...Object.entries((s.Condition ?? {}) as Record<string, Record<string, unknown>>).flatMap(
          ([test, keys]) =>
            Object.entries(keys).map(([variable, values]) => condition(test, variable, values)),
        ),
        // getPolicyDocument: [{ test, variable, values }]
        ...((s.conditions ?? []) as { test: string; variable: string; values: unknown }[]).map(
          (c) => condition(c.test, c.variable, c.values),
        ),
      ].sort(),
    }));
}

/**
 * Every IAM grant in the graph: roles' inline policies, role and managed policies, and bucket
 * policies, each with who it grants to (a role's resource name where the graph tells).
 */
function grants(graph: Graph): { principal: string; source: string; statement: Statement }[] {
  const roleNames = new Map<string, string>();
  for (const role of graph.all("aws:iam/role:Role")) {
    for (const ref of [role.name, `${role.name}-id`, graph.arn(role), input(role, "name")])
      if (typeof ref === "string") roleNames.set(ref, role.name);
  }
  const found: { principal: string; source: string; statement: Statement }[] = [];
  const add = (principal: string, source: string, document: unknown) => {
    for (const statement of statements(document)) found.push({ principal, source, statement });
  };
  for (const resource of graph.resources) {
    if (resource.type === "aws:iam/role:Role") {
      for (const policy of input<{ policy: unknown }[]>(resource, "inlinePolicies") ?? [])
        add(resource.name, resource.name, policy.policy);
    }
    if (resource.type === "aws:iam/rolePolicy:RolePolicy") {
      const role = String(input(resource, "role"));
      add(roleNames.get(role) ?? role, resource.name, input(resource, "policy"));
    }
    if (["aws:iam/policy:Policy", "aws:s3/bucketPolicy:BucketPolicy"].includes(resource.type))
      add(resource.name, resource.name, input(resource, "policy"));
  }
  return found;
}

/** Whether an IAM resource pattern (with * and ?) covers a bucket or any of its objects. */
function coversBucket(pattern: string, bucketArn: string): boolean {
  if (pattern === bucketArn || pattern.startsWith(`${bucketArn}/`)) return true;
  const literal = (text: string) => text.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  const glob = pattern.split("*").map((part) => part.split("?").map(literal).join("."));
  const regex = new RegExp(`^${glob.join(".*")}$`);
  return [bucketArn, `${bucketArn}/attachments/att_x`, `${bucketArn}/x`].some((arn) =>
    regex.test(arn),
  );
}

/** A metric a widget or an alarm reads: namespace, name, dimensions (values as the graph has them). */
interface MetricRef {
  namespace: string;
  name: string;
  dimensions: Record<string, unknown>;
  where: string;
}

/** Every metric line of a dashboard body (expressions skipped: they read the lines' ids). */
function dashboardMetrics(body: { widgets?: { properties?: { metrics?: unknown[][] } }[] }) {
  const refs: (MetricRef & { options: Record<string, unknown> })[] = [];
  for (const widget of body.widgets ?? []) {
    const title = String((widget.properties as { title?: string } | undefined)?.title ?? "?");
    for (const line of widget.properties?.metrics ?? []) {
      const options = (typeof line.at(-1) === "object" ? line.at(-1) : {}) as Record<
        string,
        unknown
      >;
      const parts = line.filter((part) => typeof part !== "object");
      if (parts.length === 0) continue;
      const [namespace, name, ...pairs] = parts as string[];
      const dimensions: Record<string, unknown> = {};
      for (let i = 0; i + 1 < pairs.length; i += 2) dimensions[pairs[i] as string] = pairs[i + 1];
      refs.push({
        namespace: namespace ?? "",
        name: name ?? "",
        dimensions,
        options,
        where: `widget "${title}"`,
      });
    }
  }
  return refs;
}

/** The metrics an alarm reads: its own, or each of its metric queries'. */
function alarmMetrics(alarm: EvaluatedResource): MetricRef[] {
  const queries =
    input<
      { metric?: { namespace: string; metricName: string; dimensions?: Record<string, unknown> } }[]
    >(alarm, "metricQueries") ?? [];
  if (queries.length > 0)
    return queries.flatMap((q) =>
      q.metric
        ? [
            {
              namespace: q.metric.namespace,
              name: q.metric.metricName,
              dimensions: q.metric.dimensions ?? {},
              where: alarm.name,
            },
          ]
        : [],
    );
  return [
    {
      namespace: input<string>(alarm, "namespace"),
      name: input<string>(alarm, "metricName"),
      dimensions: input<Record<string, unknown>>(alarm, "dimensions") ?? {},
      where: alarm.name,
    },
  ];
}

/**
 * What is wrong with a metric reference: a namespace nothing in the graph publishes to, a
 * dimension naming no resource of the graph (the right queue, DB identifier, function, cluster
 * and service, API), or an app metric the code does not emit (metric-catalog.ts: its names, its
 * dimensions, their closed lists of values, this stage).
 */
function metricRefProblems(graph: Graph, ref: MetricRef): string[] {
  const names = (type: string, key = "name") => graph.all(type).map((r) => input<string>(r, key));
  const known: Record<string, Record<string, unknown[]>> = {
    "AWS/ApiGateway": { ApiId: graph.all("aws:apigatewayv2/api:Api").map((r) => `${r.name}-id`) },
    "AWS/ECS": {
      ClusterName: names("aws:ecs/cluster:Cluster"),
      ServiceName: names("aws:ecs/service:Service"),
    },
    "AWS/RDS": {
      DBInstanceIdentifier: [
        ...names("aws:rds/instance:Instance", "identifier"),
        ...names("aws:rds/clusterInstance:ClusterInstance", "identifier"),
      ],
      DBClusterIdentifier: names("aws:rds/cluster:Cluster", "clusterIdentifier"),
    },
    "AWS/SQS": { QueueName: names("aws:sqs/queue:Queue") },
    "AWS/Lambda": { FunctionName: names("aws:lambda/function:Function") },
  };
  const label = `${ref.where}: ${ref.namespace} ${ref.name}`;
  if (ref.namespace === METRICS_NAMESPACE) {
    const family = Object.values(METRICS).find((f) => ref.name in f.metrics);
    if (!family) return [`${label} is not a metric the app emits`];
    const problems: string[] = [];
    const keys = Object.keys(ref.dimensions).sort().join(",");
    if (keys !== [...family.dimensions].sort().join(","))
      problems.push(
        `${label} has dimensions ${keys}, the app emits ${family.dimensions.join(",")}`,
      );
    if (ref.dimensions.Stage !== graph.evaluation.app.stage)
      problems.push(`${label} reads Stage ${ref.dimensions.Stage}, not this stage`);
    const closed: Record<string, readonly string[]> = {
      RouteGroup: ROUTE_GROUPS,
      Task: TASK_NAMES,
    };
    for (const [dimension, values] of Object.entries(closed))
      if (dimension in ref.dimensions && !values.includes(String(ref.dimensions[dimension])))
        problems.push(`${label} ${dimension} ${ref.dimensions[dimension]} is never emitted`);
    return problems;
  }
  const expected = known[ref.namespace];
  if (!expected) return [`${label}: nothing in the graph publishes to ${ref.namespace}`];
  const problems: string[] = [];
  for (const [dimension, value] of Object.entries(ref.dimensions)) {
    const candidates = expected[dimension];
    if (!candidates)
      problems.push(`${label} has a dimension ${dimension} this check does not know`);
    else if (!candidates.includes(value))
      problems.push(`${label} ${dimension} ${value} names no resource in the graph`);
  }
  if (Object.keys(ref.dimensions).length === 0) problems.push(`${label} has no dimensions`);
  return problems;
}

export const checks: Record<string, Check> = {
  "app: production is protected and retained, other stages are removable": (graph, kind) => {
    const { protect, removal } = graph.evaluation.app;
    if (kind === "production")
      return protect && removal === "retain"
        ? []
        : [`production: protect=${protect} removal=${removal}`];
    return !protect && removal === "remove"
      ? []
      : [`${kind}: protect=${protect} removal=${removal}`];
  },

  "database: RDS (or Aurora Serverless v2 with SLIPWAY_DATABASE=aurora-serverless) only when deployed; private, encrypted, backed up, highly available only in production; RDS Proxy only with SLIPWAY_DB_PROXY=true":
    (graph, kind) => {
      const instances = primaries(graph);
      const clusters = graph.all("aws:rds/cluster:Cluster");
      const proxies = graph.all("aws:rds/proxy:Proxy");
      const owned = instances.length + clusters.length + proxies.length;
      if (kind === "dev")
        return owned === 0 ? [] : ["sst dev must use the local database, not RDS"];
      // A preview's database is on its base's instance (the sharing check says which).
      if (kind === "preview")
        return owned === 0
          ? []
          : [`a preview creates ${owned} RDS instance(s), cluster(s), proxies`];
      const variant = databaseVariant(graph);
      const problems: string[] = [];
      if (proxies.length !== (variant.proxy ? 1 : 0))
        problems.push(
          `${proxies.length} RDS Proxy with SLIPWAY_DB_PROXY=${variant.proxy}${variant.proxy ? "" : " (cost)"}`,
        );
      if (variant.aurora) {
        if (instances.length > 0) problems.push("an RDS instance beside the Aurora cluster");
        if (clusters.length !== 1)
          return [...problems, `expected one Aurora cluster, found ${clusters.length}`];
        const cluster = clusters[0] as EvaluatedResource;
        const members = graph.all("aws:rds/clusterInstance:ClusterInstance");
        if (
          input(cluster, "engine") !== "aurora-postgresql" ||
          input(cluster, "engineVersion") !== "17"
        )
          problems.push(
            `Aurora engine ${input(cluster, "engine")} ${input(cluster, "engineVersion")}`,
          );
        if (input(cluster, "storageEncrypted") !== true)
          problems.push("Aurora storage is not encrypted");
        if ((input<number>(cluster, "backupRetentionPeriod") ?? 0) < 7)
          problems.push("Aurora backups kept < 7 days");
        if (input(cluster, "deletionProtection") !== (kind === "production"))
          problems.push(
            `Aurora deletionProtection=${input(cluster, "deletionProtection")} on ${kind}`,
          );
        if (kind === "production" && input(cluster, "skipFinalSnapshot") !== false)
          problems.push("production's Aurora cluster keeps no final snapshot");
        // Stated capacity (ADR 035): production never pauses; a proxy keeps it from pausing.
        const scaling = input<{
          minCapacity: number;
          maxCapacity: number;
          secondsUntilAutoPause?: number;
        }>(cluster, "serverlessv2ScalingConfiguration");
        const pauses = kind !== "production" && !variant.proxy;
        const wantMin = pauses ? 0 : 0.5;
        if (scaling?.minCapacity !== wantMin || scaling?.maxCapacity !== 4)
          problems.push(
            `Aurora capacity ${scaling?.minCapacity}-${scaling?.maxCapacity} ACU, expected ${wantMin}-4`,
          );
        if (pauses !== (scaling?.secondsUntilAutoPause !== undefined))
          problems.push(
            `Aurora auto-pause after ${scaling?.secondsUntilAutoPause ?? "never"} on ${kind}`,
          );
        if (members.length !== (kind === "production" ? 2 : 1))
          problems.push(`${members.length} Aurora instance(s) on ${kind}`);
        for (const member of members) {
          if (input(member, "instanceClass") !== "db.serverless")
            problems.push(`${member.name} is ${input(member, "instanceClass")}, not db.serverless`);
          if (input(member, "publiclyAccessible") !== false)
            problems.push(`${member.name} is publicly accessible`);
        }
        const subnets = privateSubnetGroup(graph, input(cluster, "dbSubnetGroupName"));
        if (subnets) problems.push(`Aurora ${subnets}`);
        return problems;
      }
      if (clusters.length > 0)
        problems.push("an Aurora cluster without SLIPWAY_DATABASE=aurora-serverless");
      if (instances.length !== 1)
        return [...problems, `expected one RDS instance, found ${instances.length}`];
      const db = instances[0] as EvaluatedResource;
      if (input(db, "publiclyAccessible") !== false) problems.push("RDS is publicly accessible");
      if (input(db, "storageEncrypted") !== true) problems.push("RDS storage is not encrypted");
      if (input(db, "engineVersion") !== "17")
        problems.push(`RDS engine ${input(db, "engineVersion")}, expected 17`);
      if (input(db, "instanceClass") !== "db.t4g.micro")
        problems.push(`RDS class ${input(db, "instanceClass")}`);
      if ((input<number>(db, "backupRetentionPeriod") ?? 0) < 7)
        problems.push("RDS backups kept < 7 days");
      if (input(db, "multiAz") !== (kind === "production"))
        problems.push(`RDS multiAz=${input(db, "multiAz")} on ${kind}`);
      if (input(db, "deletionProtection") !== (kind === "production")) {
        problems.push(`RDS deletionProtection=${input(db, "deletionProtection")} on ${kind}`);
      }
      const blueGreen = graph.evaluation.variables.SLIPWAY_DB_BLUE_GREEN === "true";
      if ((input<{ enabled?: boolean }>(db, "blueGreenUpdate")?.enabled ?? false) !== blueGreen)
        problems.push(
          `RDS blue/green updates ${blueGreen ? "off" : "on"} with SLIPWAY_DB_BLUE_GREEN=${blueGreen}`,
        );
      const subnets = privateSubnetGroup(graph, input(db, "dbSubnetGroupName"));
      if (subnets) problems.push(`RDS ${subnets}`);
      return problems;
    },

  "database proxy (SLIPWAY_DB_PROXY=true): in the private subnets, in its own security group, TLS required, logging the app role in with a secret only its own role reads, in front of this stage's database":
    (graph, kind) => {
      const proxy = graph.one("aws:rds/proxy:Proxy");
      if (!proxy || kind === "dev" || kind === "preview") return [];
      const problems: string[] = [];
      const subnets = input<string[]>(proxy, "vpcSubnetIds") ?? [];
      const privateIDs = graph.privateSubnetIDs;
      if (subnets.length === 0 || subnets.some((id) => !privateIDs.has(id)))
        problems.push(`the proxy is not in private subnets only: ${subnets.join(", ")}`);
      const groups = (input<string[]>(proxy, "vpcSecurityGroupIds") ?? []).map(idName);
      if (groups.join() !== "DatabaseProxySecurityGroup")
        problems.push(
          `the proxy is in [${groups.join(", ") || "the VPC default"}], not its own group`,
        );
      if (input(proxy, "requireTls") !== true) problems.push("the proxy accepts plaintext logins");
      const auths = input<{ secretArn?: string; authScheme?: string }[]>(proxy, "auths") ?? [];
      const secret = graph.one("aws:secretsmanager/secret:Secret", "DatabaseProxyAppSecret");
      if (!secret || auths.length !== 1 || auths[0]?.secretArn !== graph.arn(secret))
        problems.push(
          `the proxy logs in with ${auths.map((a) => a.secretArn).join(", ")}, not the app role's secret only`,
        );
      const version = graph.one(
        "aws:secretsmanager/secretVersion:SecretVersion",
        "DatabaseProxyAppSecretVersion",
      );
      const login = JSON.parse(String(version ? input(version, "secretString") : "{}")) as Record<
        string,
        string
      >;
      const app = linkProperties(graph, "AppDatabase");
      if (login.username !== app?.username || login.password !== app?.password)
        problems.push(`the proxy's secret holds ${login.username}, not the app role's login`);
      for (const { principal, statement } of grants(graph))
        if (
          secret &&
          statement.resources.includes(graph.arn(secret)) &&
          principal !== "DatabaseProxyRole"
        )
          problems.push(`${principal} may read the proxy's secret`);
      const target = graph.one("aws:rds/proxyTarget:ProxyTarget");
      const cluster = graph.one("aws:rds/cluster:Cluster");
      const instance = primaries(graph)[0];
      const targets = target
        ? [input(target, "dbClusterIdentifier"), input(target, "dbInstanceIdentifier")].filter(
            Boolean,
          )
        : [];
      const expected = cluster
        ? input(cluster, "clusterIdentifier")
        : instance && input(instance, "identifier");
      if (targets.length !== 1 || targets[0] !== expected)
        problems.push(`the proxy's target is ${targets.join(", ") || "nothing"}, not ${expected}`);
      return problems;
    },

  "database: a read replica exactly with SLIPWAY_READ_REPLICAS=1, of the primary, in its class, storage, subnets, security group and parameter group; the API reads it through DATABASE_READER_URL; its lag alarms":
    (graph, kind) => {
      const replicas = graph
        .all("aws:rds/instance:Instance")
        .filter((r) => input(r, "replicateSourceDb") !== undefined);
      const [container] = containers(graph);
      const readerSecret = container?.secrets?.find((s) => s.name === "DATABASE_READER_URL");
      const wanted = graph.evaluation.variables.SLIPWAY_READ_REPLICAS === "1" && kind !== "dev";
      if (!wanted)
        return [
          ...replicas.map((r) => `${r.name} is a read replica without SLIPWAY_READ_REPLICAS=1`),
          ...(readerSecret ? ["the API has a DATABASE_READER_URL without a replica"] : []),
        ];
      if (replicas.length !== 1) return [`expected one read replica, found ${replicas.length}`];
      const replica = replicas[0] as EvaluatedResource;
      const primary = primaries(graph)[0];
      if (!primary) return ["a replica without a primary"];
      const problems: string[] = [];
      if (input(replica, "replicateSourceDb") !== input(primary, "identifier"))
        problems.push(
          `${replica.name} replicates ${input(replica, "replicateSourceDb")}, not the primary`,
        );
      for (const key of [
        "instanceClass",
        "storageType",
        "allocatedStorage",
        "maxAllocatedStorage",
        "dbSubnetGroupName",
        "parameterGroupName",
      ])
        if (JSON.stringify(input(replica, key)) !== JSON.stringify(input(primary, key)))
          problems.push(
            `the replica's ${key} is ${input(replica, key)}, the primary's ${input(primary, key)}`,
          );
      const groups = (input<string[]>(replica, "vpcSecurityGroupIds") ?? []).map(idName);
      if (groups.join() !== "DatabaseSecurityGroup")
        problems.push(
          `the replica is in security groups [${groups.join(", ") || "the VPC default"}], not the database's`,
        );
      if (input(replica, "publiclyAccessible") !== false)
        problems.push("the replica is publicly accessible");
      if (input(replica, "storageEncrypted") !== true)
        problems.push("the replica's storage is not encrypted");
      const parameter = graph
        .all("aws:ssm/parameter:Parameter")
        .find((p) => graph.arn(p) === readerSecret?.valueFrom);
      const value = parameter ? String(input(parameter, "value")) : "";
      const database = linkProperties(graph, "AppDatabase")?.database;
      if (!parameter || input(parameter, "type") !== "SecureString")
        problems.push("the API has no DATABASE_READER_URL ECS secret from a SecureString");
      else if (
        !value.startsWith("postgres://slipway_app:mock-secret-AppDatabasePassword@") ||
        // The mocks give an instance the address `<name>.mock.rds.amazonaws.com`.
        !value.endsWith(`@${replica.name}.mock.rds.amazonaws.com:5432/${database}`)
      )
        problems.push("the API's DATABASE_READER_URL is not the app role on the replica");
      const lag = graph
        .all("aws:cloudwatch/metricAlarm:MetricAlarm")
        .find((a) => input(a, "metricName") === "ReplicaLag");
      const dimensions = lag && input<{ DBInstanceIdentifier?: string }>(lag, "dimensions");
      if (dimensions?.DBInstanceIdentifier !== input(replica, "identifier"))
        problems.push("no alarm on the replica's ReplicaLag");
      return problems;
    },

  "database: TLS required (rds.force_ssl=1), storage grows to 100 GB on its own, minor versions applied, its own security group":
    (graph, kind) => {
      // A preview's instance is its base's, checked on the base's own graph (staging).
      if (kind === "dev" || kind === "preview") return [];
      if (databaseVariant(graph).aurora) {
        // Aurora: TLS in the cluster's parameter group, no disk to grow (its volume does).
        const cluster = graph.one("aws:rds/cluster:Cluster");
        if (!cluster) return ["no Aurora cluster"];
        const problems: string[] = [];
        const group = graph
          .all("aws:rds/clusterParameterGroup:ClusterParameterGroup")
          .find((g) => input(g, "name") === input(cluster, "dbClusterParameterGroupName"));
        const forceSsl = (
          input<{ name: string; value: string }[]>(group ?? cluster, "parameters") ?? []
        )
          .filter((p) => p.name === "rds.force_ssl")
          .map((p) => p.value);
        if (forceSsl.join() !== "1")
          problems.push(
            `Aurora rds.force_ssl is ${forceSsl.join() || "unset"}, not 1: plaintext logins work`,
          );
        for (const member of graph.all("aws:rds/clusterInstance:ClusterInstance"))
          if (input(member, "autoMinorVersionUpgrade") !== true)
            problems.push(`${member.name}: minor version upgrades are off`);
        const groups = (input<string[]>(cluster, "vpcSecurityGroupIds") ?? []).map(idName);
        if (groups.join() !== "DatabaseSecurityGroup")
          problems.push(
            `Aurora is in security groups [${groups.join(", ") || "the VPC default"}], not its own`,
          );
        return problems;
      }
      const db = primaries(graph)[0];
      if (!db) return ["no RDS instance"];
      const problems: string[] = [];
      const group = graph
        .all("aws:rds/parameterGroup:ParameterGroup")
        .find((g) => input(g, "name") === input(db, "parameterGroupName"));
      const forceSsl = (input<{ name: string; value: string }[]>(group ?? db, "parameters") ?? [])
        .filter((p) => p.name === "rds.force_ssl")
        .map((p) => p.value);
      if (forceSsl.join() !== "1")
        problems.push(
          `rds.force_ssl is ${forceSsl.join() || "unset"}, not 1: plaintext logins work`,
        );
      const max = input<number | undefined>(db, "maxAllocatedStorage") ?? 0;
      if (max < 100 || max <= input<number>(db, "allocatedStorage"))
        problems.push(`RDS storage cannot grow (maxAllocatedStorage ${max || "unset"})`);
      if (input(db, "autoMinorVersionUpgrade") !== true)
        problems.push("RDS minor version upgrades are off");
      const groups = (input<string[]>(db, "vpcSecurityGroupIds") ?? []).map(idName);
      if (groups.join() !== "DatabaseSecurityGroup")
        problems.push(
          `RDS is in security groups [${groups.join(", ") || "the VPC default"}], not its own`,
        );
      return problems;
    },

  "network: the database admits 5432 from the API's, the worker's and the migrator's own groups only (and the bastion, when there is one); each of them is in its own group; the VPC's default group admits nothing":
    (graph, kind) => {
      const problems: string[] = [];
      const rules = securityGroupRules(graph);
      const ingress = (group: string) =>
        rules.filter((r) => r.group === group && r.direction === "ingress");
      // With RDS Proxy the API and the worker reach the proxy, and only it (and the migrator)
      // the database.
      const proxied = graph.one(
        "aws:ec2/securityGroup:SecurityGroup",
        "DatabaseProxySecurityGroup",
      );
      const appGroups = ["ApiSecurityGroup", "WorkerSecurityGroup"];
      const expected = proxied
        ? ["DatabaseProxySecurityGroup", "MigratorSecurityGroup"]
        : [...appGroups, "MigratorSecurityGroup"];
      if (proxied) {
        const proxyIngress = ingress("DatabaseProxySecurityGroup");
        for (const rule of proxyIngress)
          if (
            rule.protocol !== "tcp" ||
            rule.fromPort !== 5432 ||
            rule.toPort !== 5432 ||
            !appGroups.includes(rule.peer ?? "")
          )
            problems.push(`the proxy's group admits ${describeRule(rule)}`);
        for (const peer of appGroups)
          if (!proxyIngress.some((r) => r.peer === peer && r.fromPort === 5432))
            problems.push(`the proxy's group does not admit ${peer} on 5432`);
      }
      // A preview adds its groups to the group of its base's instance (rules it owns).
      const baseGroup = graph
        .reads("aws:ec2/securityGroup:SecurityGroup")
        .find((g) => g.name === "DatabaseSecurityGroup");
      const baseInstance = graph.reads("aws:rds/instance:Instance")[0];
      // A stage on its base's VPC (a preview; `sst dev` of one too) admits itself to the base's group.
      const shares = graph.reads("aws:ec2/vpc:Vpc").length > 0;
      if (shares && (kind === "preview" || baseInstance)) {
        const groups =
          input<string[] | undefined>(
            baseInstance ?? ({ inputs: {} } as EvaluatedResource),
            "vpcSecurityGroupIds",
          ) ?? [];
        if (!baseGroup?.read || !groups.includes(baseGroup.read))
          problems.push(
            `the rules admit the preview to ${baseGroup?.read ?? "no group"}, not the base instance's group (${groups.join(", ")})`,
          );
      }
      const database = ingress(shares ? (baseGroup?.read ?? "") : "DatabaseSecurityGroup");
      // `sst tunnel`: with a bastion (SLIPWAY_BASTION), it too (the NAT group it is in).
      const bastion = graph.evaluation.variables.SLIPWAY_BASTION === "true";
      const admitted = bastion ? [...expected, "VpcNatInstanceSecurityGroup"] : expected;
      for (const rule of database) {
        const postgres = rule.protocol === "tcp" && rule.fromPort === 5432 && rule.toPort === 5432;
        if (!postgres || !rule.peer || !admitted.includes(rule.peer))
          problems.push(`the database's group admits ${describeRule(rule)}`);
      }
      for (const peer of expected)
        if (!database.some((r) => r.peer === peer && r.fromPort === 5432))
          problems.push(`the database's group does not admit ${peer} on 5432`);
      for (const rule of ingress("ApiSecurityGroup"))
        if (
          rule.peer !== "GatewayLinkSecurityGroup" ||
          rule.fromPort !== 3000 ||
          rule.toPort !== 3000
        )
          problems.push(`the API's group admits ${describeRule(rule)}`);
      for (const group of [
        "WorkerSecurityGroup",
        "MigratorSecurityGroup",
        "GatewayLinkSecurityGroup",
      ])
        for (const rule of ingress(group)) problems.push(`${group} admits ${describeRule(rule)}`);
      for (const rule of ingress("VpcSecurityGroup"))
        problems.push(`the VPC's default group admits ${describeRule(rule)}`);

      const groupsOf = (name: string) =>
        (
          input<{ securityGroupIds?: string[] } | undefined>(
            graph.one("aws:lambda/function:Function", name) ??
              ({ inputs: {} } as EvaluatedResource),
            "vpcConfig",
          )?.securityGroupIds ?? []
        ).map(idName);
      for (const [fn, group] of [
        ["WorkerFunction", "WorkerSecurityGroup"],
        ["MigratorFunction", "MigratorSecurityGroup"],
      ] as const)
        if (groupsOf(fn).join() !== group)
          problems.push(`${fn} runs in [${groupsOf(fn).join(", ")}], not ${group}`);
      const link = graph.one("aws:apigatewayv2/vpcLink:VpcLink");
      const linkGroups = (link ? input<string[]>(link, "securityGroupIds") : []).map(idName);
      if (linkGroups.join() !== "GatewayLinkSecurityGroup")
        problems.push(
          `the VPC link is in [${linkGroups.join(", ")}], not GatewayLinkSecurityGroup`,
        );
      if (kind !== "dev") {
        const service = graph.one("aws:ecs/service:Service");
        const serviceGroups = (
          (service &&
            input<{ securityGroups?: string[] }>(service, "networkConfiguration")
              ?.securityGroups) ||
          []
        ).map(idName);
        if (serviceGroups.join() !== "ApiSecurityGroup")
          problems.push(`the API tasks run in [${serviceGroups.join(", ")}], not ApiSecurityGroup`);
      }
      return problems;
    },

  "network: two AZs, fck-nat instances, no managed NAT gateway, S3 gateway endpoint, nothing open to the internet":
    (graph) => {
      const problems: string[] = [];
      if (graph.all("aws:ec2/natGateway:NatGateway").length > 0)
        problems.push("a managed NAT gateway exists");
      const nat = graph
        .all("aws:ec2/instance:Instance")
        .filter((i) => i.name.startsWith("VpcNatInstance"));
      // A preview (and `sst dev` of one) routes through its base's NAT instances and S3 endpoint.
      const shares = graph.reads("aws:ec2/vpc:Vpc").length > 0;
      const own = shares ? 0 : 2;
      if (nat.length !== own) problems.push(`expected ${own} NAT instances, found ${nat.length}`);
      const ips = graph.all("aws:ec2/eip:Eip").length;
      if (ips !== own) problems.push(`expected ${own} Elastic IPs, found ${ips}`);
      if (graph.privateSubnetIDs.size !== 2)
        problems.push(`expected 2 private subnets, found ${graph.privateSubnetIDs.size}`);
      // Not even SSH: a bastion's SSH comes from SLIPWAY_BASTION_CIDR (the hosts check).
      for (const rule of securityGroupRules(graph))
        if (rule.direction === "ingress" && rule.cidrs.includes("0.0.0.0/0"))
          problems.push(
            `${rule.group} accepts ${rule.protocol} ${rule.fromPort}-${rule.toPort} from the internet`,
          );
      const endpoint = graph
        .all("aws:ec2/vpcEndpoint:VpcEndpoint")
        .find((e) => input(e, "vpcEndpointType") === "Gateway");
      if (shares) {
        if (endpoint) problems.push("a preview adds an S3 endpoint to its base's route tables");
      } else if (!endpoint || !String(input(endpoint, "serviceName")).endsWith(".s3"))
        problems.push("no S3 gateway endpoint");
      else if ((input<string[]>(endpoint, "routeTableIds") ?? []).length !== 2) {
        problems.push("S3 endpoint is not on both private route tables");
      }
      return problems;
    },

  "hosts: every EC2 instance requires IMDSv2; SSH only with a bastion, only from SLIPWAY_BASTION_CIDR":
    (graph) => {
      const problems: string[] = [];
      for (const instance of graph.all("aws:ec2/instance:Instance")) {
        const tokens = input<{ httpTokens?: string } | undefined>(
          instance,
          "metadataOptions",
        )?.httpTokens;
        if (tokens !== "required")
          problems.push(`${instance.name} answers IMDSv1 (httpTokens ${tokens ?? "unset"})`);
      }
      const bastion = graph
        .all("aws:ec2/instance:Instance")
        .some(
          (i) =>
            input<Record<string, string> | undefined>(i, "tags")?.["sst:is-bastion"] === "true",
        );
      const cidr = graph.evaluation.variables.SLIPWAY_BASTION_CIDR;
      const ssh = securityGroupRules(graph).filter(
        (r) =>
          r.direction === "ingress" &&
          r.cidrs.length > 0 &&
          (r.protocol === "-1" || (r.fromPort <= 22 && r.toPort >= 22)) &&
          // The VPC's own range reaching the NAT instances is not SSH from outside.
          !r.cidrs.every((c) => c === "10.0.0.0/16"),
      );
      for (const rule of ssh)
        if (!bastion || rule.cidrs.some((c) => c !== cidr))
          problems.push(
            `${rule.group} admits SSH from ${rule.cidrs.join(", ")}${bastion ? `, not only SLIPWAY_BASTION_CIDR (${cidr})` : " with no bastion"}`,
          );
      if (bastion && ssh.length === 0) problems.push("the bastion admits no SSH at all");
      return problems;
    },

  "api: private Fargate ARM tasks, no public IP, Cloud Map, scaling, Spot outside production": (
    graph,
    kind,
  ) => {
    const service = graph.one("aws:ecs/service:Service");
    if (kind === "dev") return service ? ["sst dev must run the API locally, not on ECS"] : [];
    if (!service) return ["no ECS service"];
    const problems: string[] = [];
    const network = input<{ subnets: string[]; assignPublicIp?: boolean }>(
      service,
      "networkConfiguration",
    );
    if (network.assignPublicIp !== false) problems.push("ECS tasks get a public IP");
    const privateIDs = graph.privateSubnetIDs;
    if (network.subnets.length === 0 || network.subnets.some((id) => !privateIDs.has(id))) {
      problems.push(`ECS tasks are not in private subnets only: ${network.subnets.join(", ")}`);
    }
    if (!input<{ registryArn?: string }>(service, "serviceRegistries")?.registryArn)
      problems.push("no Cloud Map registration");
    const breaker = input<{ enable?: boolean; rollback?: boolean }>(
      service,
      "deploymentCircuitBreaker",
    );
    if (!breaker?.enable || !breaker.rollback) problems.push("deploys do not roll back on failure");
    const spot = usesFargateSpot(service);
    if (spot !== (kind !== "production")) problems.push(`Fargate Spot=${spot} on ${kind}`);
    if (graph.all("aws:lb/loadBalancer:LoadBalancer").length > 0)
      problems.push("a load balancer exists (cost)");

    const task = graph.one("aws:ecs/taskDefinition:TaskDefinition");
    if (!task) return [...problems, "no task definition"];
    if (input(task, "cpu") !== "256" || input(task, "memory") !== "512") {
      problems.push(
        `task size cpu=${input(task, "cpu")} memory=${input(task, "memory")}, expected 256/512`,
      );
    }
    const platform = input<{ cpuArchitecture?: string }>(task, "runtimePlatform");
    if (platform?.cpuArchitecture !== "ARM64")
      problems.push(`task architecture ${platform?.cpuArchitecture}`);
    const containers = JSON.parse(String(input(task, "containerDefinitions"))) as {
      healthCheck?: { command: string[] };
    }[];
    if (!containers[0]?.healthCheck?.command.join(" ").includes("/api/health"))
      problems.push("no container health check on /api/health");
    const env =
      (containers[0] as { environment?: { name: string; value: string }[] } | undefined)
        ?.environment ?? [];
    const origins = env.find((e) => e.name === "ALLOWED_ORIGINS")?.value ?? "";
    if (!origins.startsWith("https://"))
      problems.push(`the API's ALLOWED_ORIGINS is "${origins}", not the site's https origin`);

    const target = graph.one("aws:appautoscaling/target:Target");
    const expectedMax = kind === "production" ? 4 : 1;
    if (
      input(target ?? service, "minCapacity") !== 1 ||
      input(target ?? service, "maxCapacity") !== expectedMax
    ) {
      problems.push(
        `scaling ${input(target ?? service, "minCapacity")}..${input(target ?? service, "maxCapacity")}, expected 1..${expectedMax}`,
      );
    }
    const cpu = graph
      .all("aws:appautoscaling/policy:Policy")
      .find((p) =>
        JSON.stringify(input(p, "targetTrackingScalingPolicyConfiguration")).includes(
          "ECSServiceAverageCPUUtilization",
        ),
      );
    const targetValue =
      cpu &&
      input<{ targetValue?: number }>(cpu, "targetTrackingScalingPolicyConfiguration")?.targetValue;
    if (targetValue !== 60) problems.push(`CPU scaling target ${targetValue}, expected 60`);
    return problems;
  },

  "api scaling (seed 003, ADR 032): out on CPU, in only after sustained idle CPU, drained stops, within the connection budget":
    (graph, kind) => {
      if (kind === "dev") return [];
      const problems: string[] = [];
      const policies = graph.all("aws:appautoscaling/policy:Policy");
      const tracking = policies.filter((p) => input(p, "policyType") === "TargetTrackingScaling");
      const steps = policies.filter((p) => input(p, "policyType") === "StepScaling");
      // Target tracking scales in as soon as the metric sits below the target; it must not here.
      for (const p of tracking) {
        const config = input<{ disableScaleIn?: boolean }>(
          p,
          "targetTrackingScalingPolicyConfiguration",
        );
        if (config?.disableScaleIn !== true)
          problems.push(`${p.name} scales in (disableScaleIn is not true)`);
      }
      if (tracking.length !== 1)
        problems.push(`${tracking.length} target-tracking policies, expected 1 (CPU)`);
      const scaleIn = steps[0];
      if (steps.length !== 1 || !scaleIn)
        return [...problems, `${steps.length} step policies, expected 1 (scale in)`];
      const step = input<{
        adjustmentType?: string;
        minAdjustmentMagnitude?: number;
        stepAdjustments?: { scalingAdjustment: number; metricIntervalUpperBound?: string }[];
      }>(scaleIn, "stepScalingPolicyConfiguration");
      const adjustment = step?.stepAdjustments?.[0];
      if (
        step?.adjustmentType !== "PercentChangeInCapacity" ||
        step.stepAdjustments?.length !== 1 ||
        adjustment?.scalingAdjustment !== -50 ||
        adjustment.metricIntervalUpperBound !== "0" ||
        (step.minAdjustmentMagnitude ?? 0) < 1
      )
        problems.push(
          `${scaleIn.name} does not remove 50% (at least one task): ${JSON.stringify(step)}`,
        );
      const alarms = graph
        .all("aws:cloudwatch/metricAlarm:MetricAlarm")
        .filter((a) => (input<string[]>(a, "alarmActions") ?? []).includes(graph.arn(scaleIn)));
      const idle = alarms[0];
      if (alarms.length !== 1 || !idle)
        return [...problems, `${alarms.length} alarms drive ${scaleIn.name}, expected 1`];
      const minutes =
        (Number(input(idle, "period")) * Number(input(idle, "evaluationPeriods"))) / 60;
      if (
        input(idle, "namespace") !== "AWS/ECS" ||
        input(idle, "metricName") !== "CPUUtilization" ||
        input(idle, "statistic") !== "Average" ||
        input(idle, "comparisonOperator") !== "LessThanThreshold" ||
        input(idle, "threshold") !== 20 ||
        minutes < 5 ||
        input(idle, "datapointsToAlarm") !== input(idle, "evaluationPeriods")
      )
        problems.push(`${idle.name} is not "average CPU below 20% for 5 minutes in a row"`);
      if (input(idle, "treatMissingData") !== "notBreaching")
        problems.push(
          `${idle.name} treats missing data as ${input(idle, "treatMissingData")}, not notBreaching`,
        );
      const dims = input<Record<string, string>>(idle, "dimensions") ?? {};
      if (!dims.ClusterName || !dims.ServiceName)
        problems.push(`${idle.name} names no ECS service`);

      // A stopping task gets at least the server's 25 s drain plus a margin, at most Fargate's 120 s.
      const stopTimeout = (containers(graph)[0] as { stopTimeout?: number } | undefined)
        ?.stopTimeout;
      if (!stopTimeout || stopTimeout < 30 || stopTimeout > 120)
        problems.push(`the API container's stopTimeout is ${stopTimeout}, expected 30 to 120 s`);

      // The most tasks an override may reach, times each task's pool, plus the worker's and the
      // migrator's connections, within db.t4g.micro's ~112 with room for operators (ADR 032).
      const link = linkProperties(graph, "ApiScaling");
      const env = Object.fromEntries(
        (containers(graph)[0]?.environment ?? []).map((e) => [e.name, e.value]),
      );
      const pool = Number(env.DATABASE_POOL_MAX);
      const worker = graph.one("aws:lambda/function:Function", "WorkerFunction");
      const workerPool = Number(lambdaEnv(worker).DATABASE_POOL_MAX);
      const mapping = graph.one("aws:lambda/eventSourceMapping:EventSourceMapping");
      const workerConcurrency = Number(
        mapping &&
          input<{ maximumConcurrency?: number }>(mapping, "scalingConfig")?.maximumConcurrency,
      );
      const cap = Number(link?.cap);
      const target = graph.one("aws:appautoscaling/target:Target");
      if (!link) problems.push("no ApiScaling link for npm run scale");
      else {
        if (link.min !== 1 || link.max !== (kind === "production" ? 4 : 1))
          problems.push(`ApiScaling links configured bounds ${link.min}..${link.max}`);
        if (!(cap >= Number(link.max))) problems.push(`the cap ${cap} is below the configured max`);
        if (!String(link.overrideParameter).startsWith(`/slipway/${graph.evaluation.app.stage}/`))
          problems.push(`the override parameter ${link.overrideParameter} is not this stage's`);
      }
      if (target && Number(input(target, "maxCapacity")) > cap)
        problems.push(
          `the scalable target's max ${input(target, "maxCapacity")} is above the cap ${cap}`,
        );
      const connections = cap * pool + workerConcurrency * workerPool + 1;
      if (!(connections <= 90))
        problems.push(
          `at the cap: ${cap} tasks × ${pool} + worker ${workerConcurrency} × ${workerPool} + migrator 1 = ${connections} connections, over 90 of ~112`,
        );
      return problems;
    },

  "gateway: HTTP API reaches the Cloud Map service through a VPC link; throttled": (
    graph,
    kind,
  ) => {
    const problems: string[] = [];
    if (!graph.one("aws:apigatewayv2/vpcLink:VpcLink")) problems.push("no VPC link");
    const stage = graph.one("aws:apigatewayv2/stage:Stage");
    const throttle =
      stage && input<{ throttlingRateLimit?: number }>(stage, "defaultRouteSettings");
    if (!throttle?.throttlingRateLimit) problems.push("the API stage has no default throttling");
    if (kind === "dev") return problems;
    const cloudmap = graph.one("aws:servicediscovery/service:Service");
    const integration = graph.one("aws:apigatewayv2/integration:Integration");
    if (!integration) return [...problems, "no API Gateway integration"];
    if (input(integration, "connectionType") !== "VPC_LINK")
      problems.push("integration is not over the VPC link");
    if (
      !cloudmap ||
      input(integration, "integrationUri") !==
        `arn:aws:servicediscovery:us-east-1:123456789012:${cloudmap.name}`
    ) {
      problems.push(
        `integration targets ${input(integration, "integrationUri")}, not the Cloud Map service`,
      );
    }
    return problems;
  },

  "migrations: invoked on every deploy, in the VPC, before the API serves": (graph, kind) => {
    const invocation = graph.one("aws:lambda/invocation:Invocation");
    if (kind === "dev")
      return invocation ? ["sst dev must not invoke the migrator (it migrates locally)"] : [];
    if (!invocation) return ["no migrator invocation"];
    const problems: string[] = [];
    const migrator = graph
      .all("aws:lambda/function:Function")
      .find((f) => input(f, "name") === input(invocation, "functionName"));
    if (!migrator?.name.startsWith("Migrator"))
      problems.push(
        `the invocation targets ${input(invocation, "functionName")}, not the migrator`,
      );
    else if (
      !(input<{ subnetIds?: string[] }>(migrator, "vpcConfig")?.subnetIds ?? []).every((id) =>
        graph.privateSubnetIDs.has(id),
      )
    ) {
      problems.push("the migrator is not in the private subnets");
    }
    if (!JSON.parse(String(input(invocation, "input"))).deployedAt)
      problems.push("the invocation input does not change per deploy");
    const service = graph.one("aws:ecs/service:Service");
    if (service && !service.dependsOn.includes(invocation.name))
      problems.push("the ECS service does not depend on the migrator invocation");
    const worker = graph
      .all("aws:lambda/function:Function")
      .find((f) => f.name.startsWith("Worker"));
    if (worker && !worker.dependsOn.includes(invocation.name))
      problems.push("the worker does not depend on the migrator invocation");
    return problems;
  },

  "tasks: SQS with a DLQ after 5 receives, a private worker with partial batch responses, one schedule per entry":
    (graph) => {
      const problems: string[] = [];
      const queue = graph.one("aws:sqs/queue:Queue", "TaskQueueQueue");
      const dlq = graph.one("aws:sqs/queue:Queue", "TaskDeadLettersQueue");
      const worker = graph.one("aws:lambda/function:Function", "WorkerFunction");
      if (!queue || !dlq || !worker) return ["missing task queue, dead-letter queue or worker"];
      const arn = (resource: EvaluatedResource) =>
        `arn:aws:sqs:us-east-1:123456789012:${resource.name}`;
      const redrive = JSON.parse(String(input(queue, "redrivePolicy") ?? "{}")) as {
        maxReceiveCount?: number;
        deadLetterTargetArn?: string;
      };
      if (redrive.maxReceiveCount !== 5 || redrive.deadLetterTargetArn !== arn(dlq)) {
        problems.push(
          `task queue redrive ${JSON.stringify(redrive)}, expected 5 receives to the DLQ`,
        );
      }
      const timeout = input<number>(worker, "timeout");
      if (input<number>(queue, "visibilityTimeoutSeconds") < 6 * timeout) {
        problems.push(
          `visibility timeout ${input(queue, "visibilityTimeoutSeconds")}s < 6 x worker timeout ${timeout}s`,
        );
      }
      if (
        !(input<{ subnetIds?: string[] }>(worker, "vpcConfig")?.subnetIds ?? []).every((id) =>
          graph.privateSubnetIDs.has(id),
        )
      ) {
        problems.push("the worker is not in the private subnets");
      }
      const mapping = graph
        .all("aws:lambda/eventSourceMapping:EventSourceMapping")
        .find((m) => input(m, "eventSourceArn") === arn(queue));
      if (!mapping) return [...problems, "the worker is not subscribed to the task queue"];
      if (input(mapping, "batchSize") !== 10)
        problems.push(`batch size ${input(mapping, "batchSize")}, expected 10`);
      if (
        !(input<string[]>(mapping, "functionResponseTypes") ?? []).includes(
          "ReportBatchItemFailures",
        )
      ) {
        problems.push("the subscription does not report partial batch failures");
      }
      const concurrency = input<{ maximumConcurrency?: number }>(
        mapping,
        "scalingConfig",
      )?.maximumConcurrency;
      if (!concurrency || concurrency > 5)
        problems.push(`worker concurrency ${concurrency ?? "uncapped"}, expected at most 5`);

      const scheduled = graph.all("aws:scheduler/schedule:Schedule");
      if (scheduled.length !== schedules.length)
        problems.push(`${scheduled.length} schedules for ${schedules.length} entries`);
      for (const schedule of scheduled) {
        const target = input<{
          arn: string;
          input: string;
          retryPolicy?: object;
          deadLetterConfig?: { arn: string };
        }>(schedule, "target");
        if (target.arn !== arn(queue))
          problems.push(`${schedule.name} does not target the task queue`);
        if (!target.retryPolicy || target.deadLetterConfig?.arn !== arn(dlq))
          problems.push(`${schedule.name} has no retry policy and DLQ`);
        const envelope = JSON.parse(target.input) as { task?: string };
        if (!schedules.some((s) => s.task === envelope.task))
          problems.push(`${schedule.name} sends an unknown task`);
      }
      return problems;
    },

  "storage: private uploads bucket, CORS for the site only, aborted multipart uploads and stray uploads expire":
    (graph, kind) => {
      if (kind === "dev") return [];
      const problems: string[] = [];
      const block = graph.one(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "UploadsPublicAccessBlock",
      );
      if (
        !block ||
        ![
          "blockPublicAcls",
          "blockPublicPolicy",
          "ignorePublicAcls",
          "restrictPublicBuckets",
        ].every((k) => input(block, k) === true)
      ) {
        problems.push("the uploads bucket is not fully private");
      }
      const cors = graph.one(
        "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
        "UploadsCors",
      );
      const origins = cors
        ? input<{ allowedOrigins: string[] }[]>(cors, "corsRules").flatMap((r) => r.allowedOrigins)
        : [];
      if (origins.length === 0 || origins.includes("*"))
        problems.push(`uploads CORS origins: ${origins.join(", ") || "none"}`);
      const lifecycle = graph.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "UploadsLifecycle",
      );
      if (!JSON.stringify(lifecycle?.inputs ?? {}).includes("abortIncompleteMultipartUpload"))
        problems.push("no multipart-abort lifecycle rule");
      const rules =
        input<{ filter?: { prefix?: string }; expiration?: { days?: number } }[]>(
          lifecycle ?? ({ inputs: {} } as EvaluatedResource),
          "rules",
        ) ?? [];
      // Only stray uploads expire, never checked files.
      const expiring = rules.filter((rule) => rule.expiration);
      if (
        expiring.length !== 1 ||
        expiring[0]?.filter?.prefix !== "attachments/incoming/" ||
        (expiring[0]?.expiration?.days ?? 0) < 14
      )
        problems.push("stray uploads must expire under attachments/incoming/ only, after 14+ days");
      return problems;
    },

  "edge: CloudFront adds the per-stage origin secret on /api requests only, forwards CloudFront-Viewer-Address, never Host":
    (graph, kind) => {
      const problems: string[] = [];
      const fn = graph.one("aws:cloudfront/function:Function", "WebCloudfrontFunctionRequest");
      const code = fn ? String(input(fn, "code")) : "";
      const secret = "mock-secret-OriginSecret";
      // The secret set on the route's paths, first thing in the function (before routing).
      const guarded =
        /if \(event\.request\.uri === "\/api" \|\| event\.request\.uri\.startsWith\("\/api\/"\)\) \{\s*event\.request\.headers\["x-slipway-origin-secret"\] = \{ value: "([^"]*)" \};/.exec(
          code,
        );
      if (!guarded)
        problems.push("the Router's function does not add x-slipway-origin-secret on /api");
      else if (guarded[1] !== secret)
        problems.push("the Router's function sends another value than the generated OriginSecret");
      if (code.split(secret).length - 1 > 1)
        problems.push("the origin secret appears in the Router's function more than once");
      const distribution = graph.one("aws:cloudfront/distribution:Distribution");
      if (!distribution) return [...problems, "no CloudFront distribution"];
      // A custom origin header would reach every route's origin, not only the API.
      if (JSON.stringify(input(distribution, "origins") ?? []).includes(secret))
        problems.push("the origin secret is a custom header of the distribution's origins");
      const behaviors = [
        input<{ originRequestPolicyId?: string }>(distribution, "defaultCacheBehavior"),
        ...(input<{ originRequestPolicyId?: string }[] | undefined>(
          distribution,
          "orderedCacheBehaviors",
        ) ?? []),
      ];
      const policy = graph.one(
        "aws:cloudfront/originRequestPolicy:OriginRequestPolicy",
        "RouterOriginRequests",
      );
      for (const behavior of behaviors)
        if (!policy || behavior.originRequestPolicyId !== `${policy.name}-id`)
          problems.push(
            `a behaviour forwards with origin request policy ${behavior.originRequestPolicyId}, not RouterOriginRequests`,
          );
      const headers = policy
        ? input<{ headerBehavior: string; headers?: { items?: string[] } }>(policy, "headersConfig")
        : undefined;
      const items = (headers?.headers?.items ?? []).map((h) => h.toLowerCase());
      // Any "all viewer headers" behaviour forwards Host, which API Gateway refuses.
      if (headers?.headerBehavior !== "whitelist")
        problems.push(`the origin request policy forwards headers "${headers?.headerBehavior}"`);
      if (items.includes("host")) problems.push("the origin request policy forwards Host");
      for (const needed of [
        "cloudfront-viewer-address",
        "x-slipway-origin-secret",
        "origin",
        "content-type",
      ])
        if (!items.includes(needed))
          problems.push(`the origin request policy does not forward ${needed}`);
      if (kind !== "dev") {
        const parameter = graph.one("aws:ssm/parameter:Parameter", "ApiOriginSecret");
        if (!parameter || input(parameter, "value") !== secret)
          problems.push("the API's ORIGIN_SECRET parameter is not the secret CloudFront sends");
      }
      return problems;
    },

  "secrets: no task-definition or function environment value holds a secret; the API's DATABASE_URL, ORIGIN_SECRET and SentryDsn are ECS secrets from SSM SecureStrings only its execution role reads":
    (graph, kind) => {
      if (kind === "dev") return [];
      const problems: string[] = [];
      const secrets = secretValues(graph);
      // Lambda functions get their links in an encrypted file, never as plain values.
      for (const fn of graph.all("aws:lambda/function:Function"))
        for (const [name, value] of Object.entries(lambdaEnv(fn)))
          for (const [secret, what] of secrets)
            if (value.includes(secret)) problems.push(`${fn.name}'s ${name} holds ${what}`);
      const [container] = containers(graph);
      if (!container) return [...problems, "no task definition"];
      for (const { name, value } of container.environment ?? []) {
        for (const [secret, what] of secrets)
          if (value.includes(secret)) problems.push(`environment ${name} holds ${what}`);
        if (name.startsWith("SST_RESOURCE_")) {
          const parsed = JSON.parse(value) as unknown;
          if (hasCredentialKey(parsed))
            problems.push(`environment ${name} is a link carrying a credential`);
        }
      }
      const parameters = new Map(
        graph.all("aws:ssm/parameter:Parameter").map((p) => [graph.arn(p), p] as const),
      );
      const wanted: [string, (value: string) => boolean][] = [
        [
          "DATABASE_URL",
          // The app role: a preview's is its database's own (`<database>_app`).
          (value) => {
            const app = linkProperties(graph, "AppDatabase");
            return (
              value.startsWith(
                `postgres://${kind === "preview" ? app?.username : "slipway_app"}:mock-secret-AppDatabasePassword@`,
              ) && value.endsWith(`/${app?.database}`)
            );
          },
        ],
        ["ORIGIN_SECRET", (value) => value === "mock-secret-OriginSecret"],
        [
          "SST_RESOURCE_SentryDsn",
          (value) => JSON.parse(value).value === linkProperties(graph, "SentryDsn")?.value,
        ],
      ];
      const ecsSecrets = new Map((container.secrets ?? []).map((s) => [s.name, s.valueFrom]));
      for (const [name, valueOk] of wanted) {
        const parameter = parameters.get(ecsSecrets.get(name) ?? "");
        if (!parameter) problems.push(`${name} is not an ECS secret from an SSM parameter`);
        else if (input(parameter, "type") !== "SecureString")
          problems.push(`${name}'s parameter is not a SecureString`);
        else if (!valueOk(String(input(parameter, "value"))))
          problems.push(`${name}'s parameter does not hold what the API needs`);
      }
      // Who may read the secret stores: the API's execution role, its three parameters; with
      // RDS Proxy, the proxy's role, the app role's login it authenticates clients with.
      const arns = [...ecsSecrets.values()].sort();
      const proxySecret = graph.one("aws:secretsmanager/secret:Secret", "DatabaseProxyAppSecret");
      for (const { principal, source, statement } of grants(graph)) {
        const reads = statement.actions.filter((a) =>
          SECRET_READS.some((read) => iamMatches(a, read)),
        );
        if (reads.length === 0) continue;
        if (principal === "DatabaseProxyRole" && proxySecret) {
          if (
            reads.join() !== "secretsmanager:GetSecretValue" ||
            statement.resources.join() !== graph.arn(proxySecret)
          )
            problems.push(
              `the proxy's role reads ${reads.join(", ")} on ${statement.resources.join(", ")}, not only the app role's login`,
            );
        } else if (principal !== "ApiExecutionRole")
          problems.push(
            `${source} allows ${reads.join(", ")} on ${statement.resources.join(", ")}`,
          );
        else if (statement.resources.slice().sort().join() !== arns.join())
          problems.push(
            `the API's execution role reads ${statement.resources.join(", ")}, not exactly its secrets`,
          );
      }
      return problems;
    },

  "database access: the API, the worker and the migrator use TLS (DATABASE_SSL=rds, verify through RDS Proxy; off under sst dev); the worker links the app role, only the migrator the owner; the app role's host is the proxy's with one, else the owner's":
    (graph, kind) => {
      const problems: string[] = [];
      const proxy = graph.one("aws:rds/proxy:Proxy");
      const ssl = kind === "dev" ? "off" : "rds";
      // The proxy's certificate is ACM's (Amazon's public roots), not the RDS CA's.
      const appSsl = proxy ? "verify" : ssl;
      for (const [name, want] of [
        ["WorkerFunction", appSsl],
        ["MigratorFunction", ssl],
      ] as const) {
        const env = lambdaEnv(graph.one("aws:lambda/function:Function", name));
        if (env.DATABASE_SSL !== want)
          problems.push(`${name} has DATABASE_SSL=${env.DATABASE_SSL}, expected ${want}`);
      }
      const [container] = containers(graph);
      const apiSsl = container?.environment?.find((e) => e.name === "DATABASE_SSL")?.value;
      if (kind !== "dev" && apiSsl !== appSsl)
        problems.push(`the API has DATABASE_SSL=${apiSsl}, expected ${appSsl}`);
      const links = graph.evaluation.functionLinks;
      if (!links.Worker?.includes("AppDatabase") || links.Worker.includes("Database"))
        problems.push(`the worker links ${links.Worker?.join(", ")}: AppDatabase, not Database`);
      if (!links.Migrator?.includes("AppDatabase") || !links.Migrator.includes("Database"))
        problems.push(`the migrator links ${links.Migrator?.join(", ")}: Database and AppDatabase`);
      const app = linkProperties(graph, "AppDatabase");
      const owner = linkProperties(graph, "Database");
      if (!app || !owner) return [...problems, "no AppDatabase or Database link"];
      for (const key of ["port", "database"])
        if (app[key] !== owner[key]) problems.push(`AppDatabase's ${key} is not the database's`);
      const appHost = proxy ? `${proxy.name}.proxy-mock.rds.amazonaws.com` : owner.host;
      if (app.host !== appHost)
        problems.push(
          `AppDatabase connects to ${app.host}, not ${proxy ? "the proxy" : "the database"} (${appHost})`,
        );
      // The owner migrates directly: never through a proxy (ADR 035).
      const server =
        graph.one("aws:rds/cluster:Cluster") ??
        graph.one("aws:rds/instance:Instance") ??
        graph.reads("aws:rds/instance:Instance")[0];
      const serverHost =
        server &&
        (server.read
          ? input(server, "address")
          : server.type.includes("cluster")
            ? `${server.name}.cluster-mock.rds.amazonaws.com`
            : `${server.name}.mock.rds.amazonaws.com`);
      if (kind !== "dev" && owner.host !== serverHost)
        problems.push(
          `the Database link (the migrator) connects to ${owner.host}, not the database itself (${serverHost})`,
        );
      if (kind === "dev") {
        if (app.username !== owner.username || app.password !== owner.password)
          problems.push("under sst dev the app role should be the local dev user");
      } else if (
        app.username !== (kind === "preview" ? `${owner.database}_app` : "slipway_app") ||
        app.password !== "mock-secret-AppDatabasePassword"
      )
        problems.push(
          `AppDatabase logs in as ${app.username} with ${app.password === owner.password ? "the master password" : "another password"}, not slipway_app with its own`,
        );
      return problems;
    },

  "web: one CloudFront Router serving the site and /api": (graph, kind) => {
    if (kind === "dev") return [];
    const problems: string[] = [];
    if (graph.all("aws:cloudfront/distribution:Distribution").length !== 1)
      problems.push("expected exactly one CloudFront distribution");
    if (
      !graph.resources.some((r) => r.type === "sst:aws:RouterUrlRoute" && r.name.endsWith("/api"))
    )
      problems.push("no /api route on the Router");
    if (!graph.one("sst:aws:StaticSite")) problems.push("no static site");
    return problems;
  },

  "web: every response carries the security headers; the CSP allows scripts from the site only, uploads to the bucket only and error reports to the site DSN's ingest only":
    (graph, kind) => {
      if (kind === "dev") return [];
      const problems: string[] = [];
      const policy = graph.one(
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
        "SiteHeaders",
      );
      const distribution = graph.one("aws:cloudfront/distribution:Distribution");
      const attached = distribution
        ? input<{ responseHeadersPolicyId?: string }>(distribution, "defaultCacheBehavior")
            ?.responseHeadersPolicyId
        : undefined;
      if (!policy || attached !== `${policy.name}-id`)
        return ["the distribution sends no security headers (no response headers policy)"];
      const ordered =
        input<{ pathPattern: string; responseHeadersPolicyId?: string }[] | undefined>(
          distribution as EvaluatedResource,
          "orderedCacheBehaviors",
        ) ?? [];
      for (const behavior of ordered.filter((b) => b.responseHeadersPolicyId !== attached))
        problems.push(`${behavior.pathPattern} is served without the security headers`);

      const headers = input<{
        contentSecurityPolicy?: { contentSecurityPolicy: string; override: boolean };
        strictTransportSecurity?: { accessControlMaxAgeSec: number };
        contentTypeOptions?: unknown;
        frameOptions?: { frameOption: string };
      }>(policy, "securityHeadersConfig");
      const csp = new Map(
        (headers?.contentSecurityPolicy?.contentSecurityPolicy ?? "")
          .split(";")
          .map((directive) => directive.trim().split(/\s+/))
          .map(([name = "", ...sources]) => [name, sources.join(" ")] as const),
      );
      const bucket = graph.one("aws:s3/bucket:Bucket", "UploadsBucket");
      // With a site DSN, exactly its ingest origin beside the bucket (ADR 031); else nothing more.
      const dsn = graph.evaluation.variables.SLIPWAY_WEB_SENTRY_DSN;
      const ingest = dsn ? ` ${new URL(dsn).origin}` : "";
      const expected: [string, string][] = [
        ["default-src", "'self'"],
        ["script-src", "'self'"],
        ["object-src", "'none'"],
        ["frame-ancestors", "'none'"],
        ["connect-src", `'self' https://${bucket?.name}-id.s3.us-east-1.amazonaws.com${ingest}`],
      ];
      for (const [name, sources] of expected)
        if (csp.get(name) !== sources)
          problems.push(`CSP ${name} is "${csp.get(name) ?? "missing"}", not "${sources}"`);
      if (!headers?.contentSecurityPolicy?.override)
        problems.push("the CSP does not override what an origin sends");
      // The site's build (SST's build command) gets the stage's DSN, and a release to tag with.
      const builder = graph.one("command:local:Command", "SiteBuilder");
      const buildEnv = (builder && input<Record<string, string>>(builder, "environment")) ?? {};
      if (buildEnv.SLIPWAY_WEB_SENTRY_DSN !== dsn)
        problems.push(
          `the site is built with SLIPWAY_WEB_SENTRY_DSN=${buildEnv.SLIPWAY_WEB_SENTRY_DSN ?? "(unset)"}, not the stage's ${dsn ?? "(unset)"}`,
        );
      if (dsn && !buildEnv.SLIPWAY_RELEASE)
        problems.push("the site is built with a DSN but no SLIPWAY_RELEASE to tag its reports");
      if ((headers?.strictTransportSecurity?.accessControlMaxAgeSec ?? 0) < 31_536_000)
        problems.push("HSTS is missing or shorter than a year");
      if (!headers?.contentTypeOptions) problems.push("no X-Content-Type-Options: nosniff");
      if (headers?.frameOptions?.frameOption !== "DENY") problems.push("framing is not denied");
      return problems;
    },

  "alarms: DLQ depth, API 5xx rate and p99 latency, oldest task, API tasks below minimum, worker errors, database CPU and storage, sign-in failures; each to the alarm topic, on a metric of the graph, with a runbook line":
    (graph, kind) => {
      const alarms = personAlarms(graph);
      if (kind === "dev") return alarms.length === 0 ? [] : ["sst dev should not create alarms"];
      // Nobody is paged for a preview; its base's alarms watch the shared instance.
      if (kind === "preview")
        return alarms.length === 0 ? [] : ["a preview should not create alarms"];
      const topic = graph.one("aws:sns/topic:Topic", "Alarms");
      if (!topic) return ["no alarm topic"];
      const problems: string[] = [];
      const want: [string, (a: EvaluatedResource) => boolean][] = [
        [
          "dead-letter queue depth > 0",
          (a) =>
            input(a, "metricName") === "ApproximateNumberOfMessagesVisible" &&
            input(a, "threshold") === 0,
        ],
        ["API 5xx rate", (a) => JSON.stringify(input(a, "metricQueries") ?? "").includes('"5xx"')],
        [
          "worker errors",
          (a) => input(a, "namespace") === "AWS/Lambda" && input(a, "metricName") === "Errors",
        ],
        [
          "database CPU > 80%",
          (a) => input(a, "metricName") === "CPUUtilization" && input(a, "threshold") === 80,
        ],
        databaseVariant(graph).aurora
          ? [
              "Aurora volume > 100 GB",
              (a) =>
                input(a, "metricName") === "VolumeBytesUsed" &&
                input(a, "threshold") === 100 * 1024 ** 3,
            ]
          : [
              "database free storage < 2 GB",
              (a) =>
                input(a, "metricName") === "FreeStorageSpace" &&
                input(a, "threshold") === 2 * 1024 ** 3,
            ],
        [
          "API p99 latency for 10 minutes",
          (a) =>
            input(a, "metricName") === "Latency" &&
            input(a, "extendedStatistic") === "p99" &&
            input<number>(a, "period") * input<number>(a, "evaluationPeriods") === 600,
        ],
        [
          "the oldest task's age",
          (a) => input(a, "metricName") === "ApproximateAgeOfOldestMessage",
        ],
        [
          "API tasks below the minimum",
          (a) =>
            input(a, "namespace") === "AWS/ECS" &&
            input(a, "statistic") === "SampleCount" &&
            input(a, "comparisonOperator") === "LessThanThreshold" &&
            input(a, "treatMissingData") === "breaching" &&
            input(a, "threshold") ===
              input(
                graph.one("aws:appautoscaling/target:Target") as EvaluatedResource,
                "minCapacity",
              ),
        ],
        [
          "sign-in failures",
          (a) =>
            input(a, "namespace") === METRICS_NAMESPACE &&
            input(a, "metricName") === "LoginFailures",
        ],
      ];
      for (const alarm of alarms) {
        for (const ref of alarmMetrics(alarm)) problems.push(...metricRefProblems(graph, ref));
        if (!String(input(alarm, "alarmDescription") ?? "").includes("Check first:"))
          problems.push(`${alarm.name} says nothing of what to check first`);
        if (!(input<string[]>(alarm, "alarmActions") ?? []).includes(graph.arn(topic)))
          problems.push(`${alarm.name} does not notify the alarm topic`);
      }
      // The queue alarms watch the right queues: depth on the dead letters, age on the tasks.
      const queueOf = (metric: string) =>
        alarms.find((a) => input(a, "metricName") === metric)?.inputs.dimensions as
          | { QueueName?: string }
          | undefined;
      const queueName = (name: string) =>
        input<string>(graph.one("aws:sqs/queue:Queue", name) as EvaluatedResource, "name");
      if (
        queueOf("ApproximateNumberOfMessagesVisible")?.QueueName !==
        queueName("TaskDeadLettersQueue")
      )
        problems.push("the dead-letter alarm does not watch the dead-letter queue");
      if (queueOf("ApproximateAgeOfOldestMessage")?.QueueName !== queueName("TaskQueueQueue"))
        problems.push("the oldest-task alarm does not watch the task queue");
      for (const [name, matches] of want) {
        const alarm = alarms.find(matches);
        if (!alarm) problems.push(`no alarm on ${name}`);
        else if (
          !(input<string[]>(alarm, "alarmActions") ?? []).includes(
            `arn:aws:sns:us-east-1:123456789012:${topic.name}`,
          )
        ) {
          problems.push(`the ${name} alarm does not notify the alarm topic`);
        }
      }
      return problems;
    },

  "dashboard: one per stage with its own database, every widget on a metric of the graph or one the app emits; the required views and every alarm's state":
    (graph, kind) => {
      const dashboards = graph.all("aws:cloudwatch/dashboard:Dashboard");
      if (kind === "dev" || kind === "preview")
        return dashboards.length === 0
          ? []
          : [`a ${kind} stage should have no dashboard ($3 a month)`];
      if (dashboards.length !== 1) return [`expected 1 dashboard, found ${dashboards.length}`];
      const dashboard = dashboards[0] as EvaluatedResource;
      const problems: string[] = [];
      const stage = graph.evaluation.app.stage;
      if (input(dashboard, "dashboardName") !== `slipway-${stage}`)
        problems.push(`the dashboard is named ${input(dashboard, "dashboardName")}`);
      const body = JSON.parse(String(input(dashboard, "dashboardBody")));
      const refs = dashboardMetrics(body);
      for (const ref of refs) problems.push(...metricRefProblems(graph, ref));
      const has = (namespace: string, name: string, stat?: string) =>
        refs.some(
          (r) => r.namespace === namespace && r.name === name && (!stat || r.options.stat === stat),
        );
      const required: [string, string, string?][] = [
        ["AWS/ApiGateway", "Count"],
        ["AWS/ApiGateway", "5xx"],
        ["AWS/ApiGateway", "Latency", "p50"],
        ["AWS/ApiGateway", "Latency", "p99"],
        [METRICS_NAMESPACE, "Latency", "SampleCount"],
        [METRICS_NAMESPACE, "Latency", "p99"],
        [METRICS_NAMESPACE, "Errors5xx"],
        ["AWS/ECS", "CPUUtilization", "Average"],
        ["AWS/ECS", "MemoryUtilization"],
        ["AWS/ECS", "CPUUtilization", "SampleCount"],
        ["AWS/RDS", "CPUUtilization"],
        ["AWS/RDS", "DatabaseConnections"],
        // Aurora's volume grows on its own: its used bytes, not free space.
        databaseVariant(graph).aurora
          ? ["AWS/RDS", "VolumeBytesUsed"]
          : ["AWS/RDS", "FreeStorageSpace"],
        ["AWS/RDS", "ReadLatency"],
        ["AWS/RDS", "WriteLatency"],
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible"],
        ["AWS/SQS", "ApproximateAgeOfOldestMessage"],
        ["AWS/Lambda", "Errors"],
        ["AWS/Lambda", "Duration"],
        [METRICS_NAMESPACE, "TaskDuration"],
        [METRICS_NAMESPACE, "TaskFailures"],
        [METRICS_NAMESPACE, "TaskQueueAge"],
        [METRICS_NAMESPACE, "LoginFailures"],
        [METRICS_NAMESPACE, "RateLimited"],
      ];
      for (const [namespace, name, stat] of required)
        if (!has(namespace, name, stat))
          problems.push(`the dashboard shows no ${namespace} ${name}${stat ? ` (${stat})` : ""}`);
      // Both queues: the tasks' depth and the dead letters'.
      const queues = new Set(
        refs
          .filter((r) => r.name === "ApproximateNumberOfMessagesVisible")
          .map((r) => r.dimensions.QueueName),
      );
      if (queues.size !== graph.all("aws:sqs/queue:Queue").length)
        problems.push(`the dashboard shows the depth of ${queues.size} of the stage's queues`);
      // The worker, not the migrator.
      const worker = graph.one("aws:lambda/function:Function", "WorkerFunction");
      for (const r of refs.filter((r) => r.namespace === "AWS/Lambda"))
        if (worker && r.dimensions.FunctionName !== input(worker, "name"))
          problems.push(
            `the dashboard's ${r.where} reads ${r.dimensions.FunctionName}, not the worker`,
          );
      const shown = new Set(
        (body.widgets as { type: string; properties: { alarms?: string[] } }[])
          .filter((w) => w.type === "alarm")
          .flatMap((w) => w.properties.alarms ?? []),
      );
      for (const alarm of personAlarms(graph))
        if (!shown.has(`arn:aws:cloudwatch:us-east-1:123456789012:${alarm.name}`))
          problems.push(`the dashboard does not show ${alarm.name}'s state`);
      const url = String(graph.evaluation.outputs?.dashboard ?? "");
      if (!url.endsWith(`#dashboards/dashboard/slipway-${stage}`))
        problems.push(`the stage outputs no dashboard URL (${url || "none"})`);
      return problems;
    },

  "logs: every log group has a retention (30 days, production 90)": (graph, kind) => {
    const days = kind === "production" ? 90 : 30;
    return graph
      .all("aws:cloudwatch/logGroup:LogGroup")
      .filter((group) => input(group, "retentionInDays") !== days)
      .map((group) => {
        const kept = input<number | undefined>(group, "retentionInDays");
        // 0 or unset is CloudWatch's "never expire".
        return `log group ${group.name} keeps logs ${kept ? `${kept} days` : "forever"}, expected ${days} days`;
      });
  },

  "iam: outside sst dev, roles are assumable by AWS services only, never by an account's principals":
    (graph, kind) => {
      if (kind === "dev") return [];
      return graph.all("aws:iam/role:Role").flatMap((role) => {
        const trust = input<unknown>(role, "assumeRolePolicy");
        const parsed = (typeof trust === "string" ? JSON.parse(trust) : trust) as {
          Statement?: {
            Principal?: Record<string, unknown>;
            principals?: { type: string; identifiers: string[] }[];
          }[];
        };
        // The AWS spelling (Principal: {Service: …}) or getPolicyDocument's (principals: [{type}]).
        return (parsed?.Statement ?? [])
          .flatMap((statement) => [
            ...Object.entries(statement.Principal ?? {}),
            ...(statement.principals ?? []).map((p) => [p.type, p.identifiers] as const),
          ])
          .filter(([type]) => type !== "Service")
          .map(([type, who]) => `${role.name} trusts ${type} ${JSON.stringify(who)}`);
      });
    },

  "iam: no data action is granted on every resource": (graph) => {
    const problems: string[] = [];
    for (const { source, statement } of grants(graph)) {
      const every = statement.resources.filter(everyResource);
      if (every.length === 0) continue;
      const data = statement.actions.filter((action) =>
        DATA_SERVICES.some((service) => actsOn(action, service)),
      );
      if (data.length > 0)
        problems.push(
          `${source} allows ${data.join(", ")} on ${every.map((r) => `"${r}"`).join(", ")}`,
        );
    }
    return problems;
  },

  "iam: no policy grants with NotAction or NotResource (an Allow of everything but a list)": (
    graph,
  ) =>
    grants(graph).flatMap(({ principal, source, statement }) => {
      const not = [
        ...(statement.notActions.length ? [`NotAction ${statement.notActions.join(", ")}`] : []),
        ...(statement.notResources.length
          ? [`NotResource ${statement.notResources.join(", ")}`]
          : []),
      ];
      return not.length
        ? [
            `${source} allows ${not.join(" and ")}${APP_ROLES.includes(principal) ? " (an app role)" : ""}`,
          ]
        : [];
    }),

  "iam: no role or policy is granted a service-wide wildcard action (sqs:*, ses:*, s3:*, *)": (
    graph,
    kind,
  ) =>
    grants(graph).flatMap(({ principal, source, statement }) =>
      statement.actions
        .filter(wildcardAction)
        // `sst dev` only: SST's bridge to the developer's machine (AppSync events, its asset bucket).
        .filter(
          (action) =>
            kind !== "dev" ||
            !(
              action === "appsync:*" ||
              (action === "s3:*" &&
                statement.resources.every((r) => r.startsWith("arn:aws:s3:::sst-asset")))
            ),
        )
        .map(
          (action) =>
            `${source} allows ${action} on ${statement.resources.join(", ")}${APP_ROLES.includes(principal) ? " (an app role)" : ""}`,
        ),
    ),

  "iam: roles carry only the AWS managed policies reviewed here (none reads a secret store)": (
    graph,
  ) => {
    // Each is AWS's, read for what it grants: logs, VPC network interfaces, ECR pulls and logs.
    const reviewed = [
      "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
      "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
      "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
    ];
    return graph
      .all("aws:iam/role:Role")
      .flatMap((role) =>
        (input<string[]>(role, "managedPolicyArns") ?? [])
          .filter((arn) => !reviewed.includes(arn))
          .map((arn) => `${role.name} has ${arn}, not a reviewed managed policy`),
      );
  },

  "iam: SQS and SES exactly as the code calls them: the API sends to the task queue and works the dead letters (the console), the worker consumes and sends to it and sends mail from the SES identity only, links grant nothing":
    (graph) => {
      const problems: string[] = [];
      const queue = graph.one("aws:sqs/queue:Queue", "TaskQueueQueue");
      const dlq = graph.one("aws:sqs/queue:Queue", "TaskDeadLettersQueue");
      if (!queue || !dlq) return ["no task queue"];
      const q = graph.arn(queue);
      const identity = graph.one("aws:sesv2/emailIdentity:EmailIdentity");
      const configSet = graph.one("aws:sesv2/configurationSet:ConfigurationSet");
      const expected: Record<string, string[]> = {
        ApiTaskRole: [
          `sqs:SendMessage on ${q}`,
          `sqs:GetQueueAttributes on ${q}`,
          `sqs:GetQueueAttributes on ${graph.arn(dlq)}`,
          `sqs:ReceiveMessage on ${graph.arn(dlq)}`,
          `sqs:DeleteMessage on ${graph.arn(dlq)}`,
          `sqs:ChangeMessageVisibility on ${graph.arn(dlq)}`,
          `sqs:StartMessageMoveTask on ${graph.arn(dlq)}`,
        ],
        WorkerRole: [
          `sqs:ReceiveMessage on ${q}`,
          `sqs:DeleteMessage on ${q}`,
          `sqs:GetQueueAttributes on ${q}`,
          `sqs:SendMessage on ${q}`,
          ...(identity && configSet
            ? [
                `ses:SendEmail on ${graph.arn(identity)}`,
                `ses:SendEmail on ${graph.arn(configSet)}`,
              ]
            : []),
        ],
        TaskSchedulerRole: [`sqs:SendMessage on ${q}`, `sqs:SendMessage on ${graph.arn(dlq)}`],
      };
      const granted: Record<string, string[]> = Object.fromEntries(
        Object.keys(expected).map((role) => [role, []]),
      );
      for (const { principal, source, statement } of grants(graph)) {
        const actions = statement.actions.filter((a) => actsOn(a, "sqs") || actsOn(a, "ses"));
        for (const action of actions)
          for (const resource of statement.resources) {
            const grant = `${action} on ${resource}`;
            const mine = granted[principal];
            if (mine) mine.push(grant);
            else problems.push(`${source} allows ${grant}`);
          }
      }
      for (const [role, want] of Object.entries(expected)) {
        const got = granted[role] ?? [];
        for (const grant of got.filter((g) => !want.includes(g)))
          problems.push(`${role} allows ${grant}, beyond what its code calls`);
        for (const grant of want.filter((g) => !got.includes(g)))
          problems.push(`${role} lacks ${grant}`);
      }
      for (const name of ["TaskQueue", "TaskDeadLetters", "Email"]) {
        const link = graph.one("sst:sst:LinkRef", `${name}LinkRef`);
        if (
          (input<unknown[]>(link ?? ({ inputs: {} } as EvaluatedResource), "include") ?? []).length
        )
          problems.push(`linking ${name} grants permissions`);
      }
      const url = linkProperties(graph, "TaskQueue")?.url;
      if (typeof url !== "string" || !url.endsWith(`/${queue.name}`))
        problems.push(`the TaskQueue link carries ${JSON.stringify(url)}, not the queue's URL`);
      return problems;
    },

  "attachments: only the API and the worker reach the uploads bucket, with exactly their S3 actions under attachments/ (the API writes only uploads), through a link that grants nothing":
    (graph, kind) => {
      const bucket = graph.one("aws:s3/bucket:Bucket", "UploadsBucket");
      if (!bucket) return ["no uploads bucket"];
      const arn = graph.arn(bucket);
      const incoming = `${arn}/attachments/incoming/*`;
      const files = `${arn}/attachments/files/*`;
      const listing = `s3:ListBucket on ${arn} if StringLike s3:prefix attachments/*`;
      // Both roles exist under `sst dev` too (the local API assumes the task role). The API can
      // write only uploads; only the worker writes checked files.
      const expected: Record<string, string[]> = {
        ApiTaskRole: [
          `s3:PutObject on ${incoming}`,
          `s3:GetObject on ${incoming}`,
          `s3:GetObject on ${files}`,
          listing,
        ],
        WorkerRole: [
          `s3:GetObject on ${incoming}`,
          `s3:GetObject on ${files}`,
          `s3:DeleteObject on ${incoming}`,
          `s3:DeleteObject on ${files}`,
          `s3:PutObject on ${files}`,
          listing,
        ],
      };
      const granted: Record<string, string[]> = { ApiTaskRole: [], WorkerRole: [] };
      const problems: string[] = [];
      for (const { principal, source, statement } of grants(graph)) {
        const actions = statement.actions.filter((a) => actsOn(a, "s3"));
        const resources = statement.resources.filter((r) => coversBucket(r, arn));
        const conditions = statement.conditions.join(" and ");
        for (const action of actions)
          for (const resource of resources) {
            const grant = `${action} on ${resource}${conditions ? ` if ${conditions}` : ""}`;
            const mine = granted[principal];
            if (mine) mine.push(grant);
            else problems.push(`${source} allows ${grant}, outside the API and the worker`);
          }
      }
      for (const [role, want] of Object.entries(expected)) {
        const got = granted[role] ?? [];
        for (const grant of got.filter((g) => !want.includes(g)))
          problems.push(`${role} allows ${grant}, beyond its attachment access`);
        for (const grant of want.filter((g) => !got.includes(g)))
          problems.push(`${role} lacks ${grant}`);
      }

      const link = graph.one("sst:sst:LinkRef", "AttachmentStoreLinkRef");
      const name = input<string>(bucket, "bucket");
      if (!link) problems.push("no AttachmentStore link");
      else {
        if (input<{ bucket?: string }>(link, "properties")?.bucket !== name)
          problems.push("the AttachmentStore link does not name the uploads bucket");
        if ((input<unknown[]>(link, "include") ?? []).length > 0)
          problems.push("linking AttachmentStore grants permissions");
      }
      // A function's links are handed to the CLI's build (no resource input shows them).
      if (!graph.evaluation.functionLinks.Worker?.includes("AttachmentStore"))
        problems.push("the worker is not linked to AttachmentStore");
      // The API container gets its links as SST_RESOURCE_* variables; under `sst dev` it runs
      // locally, with no task definition.
      if (kind !== "dev") {
        const task = graph.one("aws:ecs/taskDefinition:TaskDefinition");
        const containers = task
          ? (JSON.parse(String(input(task, "containerDefinitions"))) as {
              environment?: { name: string; value: string }[];
            }[])
          : [];
        const env = containers[0]?.environment?.find(
          (e) => e.name === "SST_RESOURCE_AttachmentStore",
        );
        if (!env || (JSON.parse(env.value) as { bucket?: string }).bucket !== name)
          problems.push("the API container is not linked to AttachmentStore");
      }
      return problems;
    },

  "cache: no ElastiCache unless SLIPWAY_CACHE=valkey; with it, one Serverless Valkey cache in the private subnets, with usage caps, in a group that admits only the API and the worker on 6379, linked to both":
    (graph, kind) => {
      const problems: string[] = [];
      const wanted = graph.evaluation.variables.SLIPWAY_CACHE === "valkey" && kind !== "dev";
      const caches = graph.all("aws:elasticache/serverlessCache:ServerlessCache");
      for (const type of [
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:elasticache/cluster:Cluster",
      ])
        for (const node of graph.all(type))
          problems.push(`${node.name} is a node-based ElastiCache ${type.split(":").pop()}`);
      const task = graph.one("aws:ecs/taskDefinition:TaskDefinition");
      const apiLink = task
        ? (
            JSON.parse(String(input(task, "containerDefinitions"))) as {
              environment?: { name: string; value: string }[];
            }[]
          )[0]?.environment?.find((e) => e.name === "SST_RESOURCE_Cache")
        : undefined;
      const workerLinked = graph.evaluation.functionLinks.Worker?.includes("Cache") ?? false;
      if (!wanted) {
        for (const cache of caches)
          problems.push(`${cache.name} exists without SLIPWAY_CACHE=valkey`);
        if (apiLink || workerLinked)
          problems.push("a Cache is linked without SLIPWAY_CACHE=valkey");
        return problems;
      }
      if (caches.length !== 1) return [`${caches.length} serverless caches, not 1`];
      const cache = caches[0] as EvaluatedResource;
      if (input(cache, "engine") !== "valkey")
        problems.push(`the cache's engine is ${input(cache, "engine")}, not valkey`);
      const subnets = input<string[]>(cache, "subnetIds") ?? [];
      const privateSubnets = graph.privateSubnetIDs;
      if (subnets.length === 0 || subnets.some((id) => !privateSubnets.has(id)))
        problems.push(`the cache is in subnets [${subnets.join(", ")}], not the private ones`);
      const groups = (input<string[]>(cache, "securityGroupIds") ?? []).map(idName);
      if (groups.join() !== "CacheSecurityGroup")
        problems.push(`the cache is in security groups [${groups.join(", ")}], not its own`);
      const limits = input<{
        dataStorage?: { maximum?: number };
        ecpuPerSeconds?: { maximum?: number }[];
      }>(cache, "cacheUsageLimits");
      if (!limits?.dataStorage?.maximum || !limits.ecpuPerSeconds?.[0]?.maximum)
        problems.push("the cache has no storage and ECPU caps (an unbounded bill)");
      const rules = securityGroupRules(graph).filter(
        (r) => r.group === "CacheSecurityGroup" && r.direction === "ingress",
      );
      const expected = ["ApiSecurityGroup", "WorkerSecurityGroup"];
      for (const rule of rules) {
        const valkey = rule.protocol === "tcp" && rule.fromPort === 6379 && rule.toPort === 6379;
        if (!valkey || !rule.peer || !expected.includes(rule.peer))
          problems.push(`the cache's group admits ${describeRule(rule)}`);
      }
      for (const peer of expected)
        if (!rules.some((r) => r.peer === peer))
          problems.push(`the cache's group does not admit ${peer} on 6379`);
      const link = linkProperties(graph, "Cache");
      const endpoint = `${cache.name}.mock.serverless.use1.cache.amazonaws.com`;
      if (link?.host !== endpoint || Number(link?.port) !== 6379)
        problems.push(`the Cache link is ${link?.host}:${link?.port}, not the cache's endpoint`);
      if (!apiLink || (JSON.parse(apiLink.value) as { host?: string }).host !== endpoint)
        problems.push("the API container is not linked to the Cache");
      if (!workerLinked) problems.push("the worker is not linked to the Cache");
      return problems;
    },

  "sharing: production and staging own their VPC and database; a preview reads its base's (no NAT, no Elastic IP, no RDS of its own) and has a database and app role of its own there, dropped when it is removed":
    (graph, kind) => {
      if (kind === "dev") return [];
      const problems: string[] = [];
      const vpc = graph.reads("aws:ec2/vpc:Vpc");
      const instance = graph.reads("aws:rds/instance:Instance");
      const owner = linkProperties(graph, "Database");
      const migrator = lambdaEnv(graph.one("aws:lambda/function:Function", "MigratorFunction"));
      const invocation = graph.one("aws:lambda/invocation:Invocation");
      if (kind !== "preview") {
        if (vpc.length + instance.length > 0)
          problems.push(
            `${kind} reads another stage's ${[...vpc, ...instance].map((r) => r.read).join(", ")}`,
          );
        if (migrator.DATABASE_SHARED_SERVER !== undefined)
          problems.push(
            `${kind}'s migrator would create or drop databases (DATABASE_SHARED_SERVER)`,
          );
        if (invocation && input(invocation, "lifecycleScope") !== undefined)
          problems.push(
            `${kind}'s migrator runs on delete (lifecycleScope ${input(invocation, "lifecycleScope")})`,
          );
        return problems;
      }
      if (vpc.length !== 1) problems.push(`a preview reads ${vpc.length} VPCs, not its base's one`);
      if (instance.length !== 1)
        problems.push(`a preview reads ${instance.length} RDS instances, not its base's one`);
      for (const type of [
        "aws:ec2/vpc:Vpc",
        "aws:ec2/instance:Instance",
        "aws:ec2/eip:Eip",
        "aws:ec2/natGateway:NatGateway",
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "aws:rds/clusterInstance:ClusterInstance",
        "aws:rds/proxy:Proxy",
      ])
        for (const own of graph.all(type)) problems.push(`a preview creates ${own.name} (${type})`);
      const stage = graph.evaluation.app.stage;
      const expected = `${graph.evaluation.app.name}_${stage}`
        .toLowerCase()
        .replace(/[^a-z0-9_]/g, "_");
      if (owner?.database !== expected)
        problems.push(`the preview's database is ${owner?.database}, not ${expected}`);
      const base = instance[0];
      if (base && owner?.host !== input(base, "address"))
        problems.push(`the preview's database is on ${owner?.host}, not its base's instance`);
      if (migrator.DATABASE_SHARED_SERVER !== "true")
        problems.push(
          "the preview's migrator does not create its database (DATABASE_SHARED_SERVER)",
        );
      if (!invocation || input(invocation, "lifecycleScope") !== "CRUD")
        problems.push(
          "removing the preview does not invoke the migrator (lifecycleScope CRUD) to drop its database",
        );
      return problems;
    },

  "sst dev: the embedded database is served by a dev command on a port other than 5432, and the local API connects to it":
    (graph, kind) => {
      const command = graph.resources.find(
        (r) => r.type === "sst:sst:DevCommand" && r.name === "EmbeddedDatabase",
      );
      if (kind !== "dev")
        return command ? ["the embedded database's dev command outside sst dev"] : [];
      const dev = (command?.outputs?._dev ?? {}) as {
        command?: string;
        autostart?: boolean;
        environment?: Record<string, string>;
      };
      if (!command) return ["no EmbeddedDatabase dev command"];
      const problems: string[] = [];
      if (dev.command !== "node --import tsx scripts/dev-database.ts" || dev.autostart !== true)
        problems.push(
          `the EmbeddedDatabase dev command runs ${dev.command} (autostart ${dev.autostart})`,
        );
      const port = dev.environment?.PGLITE_PORT;
      if (!port || port === "5432")
        problems.push(`the embedded database is served on ${port ?? "no fixed port"}`);
      const api = graph.resources.find(
        (r) => r.type === "sst:sst:DevCommand" && r.name === "ApiDev",
      );
      const apiEnv =
        ((api?.outputs?._dev ?? {}) as { environment?: Record<string, string> }).environment ?? {};
      if (apiEnv.DATABASE_URL !== `postgres://postgres:postgres@127.0.0.1:${port}/postgres`)
        problems.push(
          `the local API connects to ${apiEnv.DATABASE_URL}, not the embedded database`,
        );
      if (apiEnv.MIGRATE_ON_BOOT !== "true")
        problems.push("the local API does not migrate at boot");
      const owner = linkProperties(graph, "Database");
      if (owner?.host !== "127.0.0.1" || String(owner?.port) !== port)
        problems.push(
          `the Database link points at ${owner?.host}:${owner?.port}, not the embedded database`,
        );
      return problems;
    },
};

/** Every violation of every check, prefixed with the check's name. */
export function violations(evaluation: Evaluation, kind: StageKind): string[] {
  const graph = new Graph(evaluation);
  return Object.entries(checks).flatMap(([name, check]) =>
    check(graph, kind).map((problem) => `${name}: ${problem}`),
  );
}
