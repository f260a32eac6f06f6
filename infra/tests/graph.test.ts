import { beforeAll, describe, expect, it } from "vitest";
import { baselineEntry, grown, readBaseline } from "../../scripts/cost/baseline";
import { price } from "../../scripts/cost/price";
import {
  copyConfig,
  type EvaluatedResource,
  type Evaluation,
  EvaluationError,
  evaluate,
} from "../../scripts/infra/evaluate";
import { budgetFor, budgets } from "../budgets";
import { checks, type StageKind, violations } from "./invariants";

/**
 * The real `sst.config.ts` + `infra/`, evaluated offline with SST's real components under
 * Pulumi's mocks, for the three kinds of stage; then a deliberately broken copy, to show the
 * checks catch what they claim to.
 */

/** The evaluated graphs the checks below ask for (each made once, in beforeAll). */
type GraphName =
  | StageKind
  | "devPreview"
  | "everything"
  | "brokenA"
  | "brokenB"
  | "aurora"
  | "proxy"
  | "auroraStaging"
  | "auroraProxyStaging"
  | "replica";
const graphs = {} as Record<GraphName, Evaluation>;
/**
 * Production again, evaluated after the others by a worker that had run some of them, the last
 * a refused config.
 */
let productionAgain: Evaluation;
let refusedBefore: unknown;

/** The database switches of ADR 035, each evaluated as a stage would deploy them. */
const AURORA = { SLIPWAY_DATABASE: "aurora-serverless" };
const PROXY = { SLIPWAY_DB_PROXY: "true" };

/** A pull request's preview stage (ADR 026): it shares staging's VPC and RDS instance. */
const PREVIEW = "pr-42";

/**
 * Every stage variable set (infra/stage.ts): each one adds resources and grants (an SES identity,
 * a bastion, an alarm subscription, a custom domain) or changes them (the site's DSN, its CSP), so the checks run on a stage with all of
 * them as well as on one with none. The broken copies are evaluated with them too.
 */
const everyVariable = {
  SLIPWAY_MAIL_SENDER: "example.com",
  SLIPWAY_BASTION: "true",
  SLIPWAY_BASTION_CIDR: "203.0.113.0/24",
  SLIPWAY_ALARM_EMAIL: "ops@example.com",
  SLIPWAY_DOMAIN: "notes.example.com",
  SLIPWAY_WEB_SENTRY_DSN: "https://sitekey@o0.ingest.sentry.io/2",
  SLIPWAY_CACHE: "valkey",
};
/** A value of the SentryDsn secret, so a check can find it where it must not be. */
const secrets = { SentryDsn: "https://public@o0.ingest.sentry.io/1" };

// Two copies, so that no breakage hides another (a managed NAT has no NAT security group).
const breakages = [
  {
    copy: "B",
    file: "infra/monitoring.ts",
    from: "threshold: 80,",
    to: "threshold: 95,",
    caught: "no alarm on database CPU > 80%",
  },
  {
    copy: "A",
    file: "infra/database.ts",
    from: "publiclyAccessible: false",
    to: "publiclyAccessible: true",
    caught: "RDS is publicly accessible",
  },
  {
    copy: "A",
    file: "infra/network.ts",
    from: 'nat: { ec2: { instance: "t4g.nano", role: natRole.name } }',
    to: 'nat: "managed"',
    caught: "a managed NAT gateway exists",
  },
  {
    copy: "A",
    file: "infra/api.ts",
    from: "if (migration) opts.dependsOn = [migration];",
    to: "",
    caught: "the ECS service does not depend on the migrator invocation",
  },
  {
    copy: "B",
    file: "infra/network.ts",
    from: "cidrBlocks: [VPC_CIDR]",
    to: 'cidrBlocks: ["0.0.0.0/0"]',
    caught: "VpcNatInstanceSecurityGroup accepts -1 0-0 from the internet",
  },
  {
    copy: "B",
    file: "infra/api.ts",
    from: "assignPublicIp: false",
    to: "assignPublicIp: true",
    caught: "ECS tasks get a public IP",
  },
  {
    copy: "B",
    file: "infra/stage.ts",
    from: 'logRetention: isProduction ? ("3 months" as const) : ("1 month" as const)',
    to: 'logRetention: "forever" as const',
    caught: "MigratorLogGroup keeps logs forever",
  },
  {
    copy: "A",
    file: "infra/storage.ts",
    from: '{ actions: ["s3:PutObject"], resources: [files] }',
    to: '{ actions: ["s3:*"], resources: [uploads.arn, files] }',
    caught:
      "WorkerRole allows s3:* on arn:aws:s3:us-east-1:123456789012:UploadsBucket, beyond its attachment access",
  },
  // SST's default trust for a Function role: the account root may assume it in every stage.
  {
    copy: "B",
    file: "infra/database.ts",
    from: "  transform: { role: lambdaOnlyTrust },",
    to: "",
    caught: 'MigratorRole trusts AWS ["arn:aws:iam::123456789012:root"]',
  },
  // The worker logs in as the app role the migrator creates.
  {
    copy: "B",
    file: "infra/tasks.ts",
    from: "if (migration) opts.dependsOn = [migration];",
    to: "",
    caught: "the worker does not depend on the migrator invocation",
  },
  // The API able to write checked files: a replayed or forged upload could replace what is served.
  {
    copy: "B",
    file: "infra/storage.ts",
    from: '{ actions: ["s3:PutObject"], resources: [incoming] }',
    to: '{ actions: ["s3:PutObject"], resources: [incoming, files] }',
    caught:
      "ApiTaskRole allows s3:PutObject on arn:aws:s3:us-east-1:123456789012:UploadsBucket/attachments/files/*, beyond its attachment access",
  },
  // Checked files expiring with the stray uploads.
  {
    copy: "A",
    file: "infra/storage.ts",
    from: "filter: { prefix: INCOMING_PREFIX },",
    to: "filter: { prefix: ATTACHMENTS_PREFIX },",
    caught: "stray uploads must expire under attachments/incoming/ only, after 14+ days",
  },
  // The API links the Bucket itself (SST's Bucket link grants s3:* on all of it).
  {
    copy: "A",
    file: "infra/api.ts",
    from: "import { apiAttachmentPermissions, attachmentStore }",
    to: "import { apiAttachmentPermissions, uploads as attachmentStore }",
    caught:
      "ApiTaskRole allows s3:* on arn:aws:s3:us-east-1:123456789012:UploadsBucket, beyond its attachment access",
  },
  // Other principals: a role, and the bucket policy (serving the bucket through CloudFront).
  {
    copy: "A",
    file: "infra/database.ts",
    from: "link: [database, appDatabase, secrets.SentryDsn],",
    to: 'link: [database, appDatabase, secrets.SentryDsn], permissions: [{ actions: ["s3:*"], resources: ["*"] }],',
    caught: "MigratorRole allows s3:* on *, outside the API and the worker",
  },
  {
    copy: "B",
    file: "infra/storage.ts",
    from: 'export const uploads = new sst.aws.Bucket("Uploads", {',
    to: 'export const uploads = new sst.aws.Bucket("Uploads", { access: "cloudfront",',
    caught:
      "UploadsPolicy allows s3:GetObject on arn:aws:s3:us-east-1:123456789012:UploadsBucket/*, outside the API and the worker",
  },
  {
    copy: "B",
    file: "infra/storage.ts",
    // IfExists lets a ListBucket without a prefix list the whole bucket.
    from: 'test: "StringLike"',
    to: 'test: "StringLikeIfExists"',
    caught:
      "WorkerRole allows s3:ListBucket on arn:aws:s3:us-east-1:123456789012:UploadsBucket if StringLikeIfExists s3:prefix attachments/*, beyond",
  },
  {
    copy: "B",
    file: "infra/tasks.ts",
    from: "    secrets.SentryDsn,\n    attachmentStore,\n    ...cacheLinks,",
    to: "    secrets.SentryDsn,\n    ...cacheLinks,",
    caught: "the worker is not linked to AttachmentStore",
  },
  // The Router's distribution without the security headers policy.
  {
    copy: "A",
    file: "infra/web.ts",
    from: "responseHeadersPolicyId: siteHeaders.id",
    to: "responseHeadersPolicyId: undefined",
    caught: "the distribution sends no security headers",
  },
  // A CSP that lets the page send data anywhere.
  {
    copy: "B",
    file: "infra/web.ts",
    from: "contentSecurityPolicy([origin, ...ingestOrigins])",
    to: 'contentSecurityPolicy([origin, ...ingestOrigins, "https:"])',
    caught:
      "CSP connect-src is \"'self' https://UploadsBucket-id.s3.us-east-1.amazonaws.com https://o0.ingest.sentry.io https:\"",
  },
  // (Error reports to any Sentry organisation's ingest, `https://*.ingest.sentry.io` instead of the
  // DSN's: the same exact connect-src check as the breakage above. It cannot have a copy of its
  // own: copy A has no headers policy at all, and in B it would replace the text the one above
  // breaks.)
  // --- issue 15: the origin secret and the client address ---
  // No secret on /api: direct calls and CloudFront's would look alike.
  {
    copy: "A",
    file: "infra/web.ts",
    from: "edge: { viewerRequest: { injection: originSecretInjection } },",
    to: "",
    caught: "the Router's function does not add x-slipway-origin-secret on /api",
  },
  // SST's default policy: all viewer headers but Host, so no CloudFront-Viewer-Address.
  {
    copy: "B",
    file: "infra/web.ts",
    from: "originRequestPolicyId: originRequestPolicy.id,",
    to: 'originRequestPolicyId: "b689b0a8-53d0-40ab-baf2-68738e2966ac",',
    caught:
      "a behaviour forwards with origin request policy b689b0a8-53d0-40ab-baf2-68738e2966ac, not RouterOriginRequests",
  },
  // --- secrets in the task definition ---
  // Linking the database and the Sentry secret: SST writes both into plain environment values.
  {
    copy: "A",
    file: "infra/api.ts",
    from: "link: [\n    taskQueue,\n    deadLetters,\n    attachmentStore,\n    ...cacheLinks,\n    ...($dev ? [secrets.SentryDsn] : []),\n  ],",
    to: 'link: [require("./database").database, taskQueue, deadLetters, attachmentStore, secrets.SentryDsn],',
    caught: "environment SST_RESOURCE_Database holds DatabasePassword",
  },
  // SST's execution role: every parameter and secret of the account.
  {
    copy: "B",
    file: "infra/api.ts",
    from: 'statements: [{ actions: ["ssm:GetParameters"], resources: secretArns }],',
    to: 'statements: [{ actions: ["ssm:GetParameters"], resources: ["*"] }],',
    caught: 'ApiExecutionRole allows ssm:GetParameters on "*"',
  },
  // --- the database ---
  {
    copy: "B",
    file: "infra/database.ts",
    from: '(p.name === "rds.force_ssl" ? { ...p, value: "1" } : p)',
    to: '(p.name === "rds.force_ssl" ? { ...p, value: "0" } : p)',
    caught: "rds.force_ssl is 0, not 1",
  },
  {
    copy: "A",
    file: "infra/database.ts",
    from: "vpcSecurityGroupIds: [securityGroups.database.id],",
    to: "",
    caught: "RDS is in security groups [the VPC default], not its own",
  },
  {
    copy: "A",
    file: "infra/database.ts",
    from: "maxAllocatedStorage: sizing.database.maxStorageGb,",
    to: "",
    caught: "RDS storage cannot grow",
  },
  {
    copy: "B",
    file: "infra/database.ts",
    from: "autoMinorVersionUpgrade: true,",
    to: "autoMinorVersionUpgrade: false,",
    caught: "RDS minor version upgrades are off",
  },
  // The database reachable from the whole VPC (the NAT instances included).
  {
    copy: "B",
    file: "infra/network.ts",
    from: 'toGroup("MigratorToDatabase", securityGroups.migrator, securityGroups.database, POSTGRES_PORT);',
    to: 'toGroup("MigratorToDatabase", securityGroups.migrator, securityGroups.database, POSTGRES_PORT); new aws.vpc.SecurityGroupIngressRule("Wide", { securityGroupId: securityGroups.database.id, cidrIpv4: VPC_CIDR, ipProtocol: "tcp", fromPort: 5432, toPort: 5432 });',
    caught: "the database's group admits tcp 5432-5432 from 10.0.0.0/16",
  },
  {
    copy: "A",
    file: "infra/tasks.ts",
    from: "securityGroups: [securityGroups.worker.id] },",
    to: "securityGroups: vpc.securityGroups },",
    caught: "WorkerFunction runs in [VpcSecurityGroup], not WorkerSecurityGroup",
  },
  // The app role logging in with the master password.
  {
    copy: "A",
    file: "infra/database.ts",
    from: "password: appPassword ? appPassword.result : connection.password,",
    to: "password: connection.password,",
    caught: "AppDatabase logs in as slipway_app with the master password",
  },
  {
    copy: "B",
    file: "infra/database.ts",
    from: 'export const DATABASE_SSL = $dev ? "off" : "rds";',
    to: 'export const DATABASE_SSL = "off";',
    caught: "WorkerFunction has DATABASE_SSL=off, expected rds",
  },
  // --- least privilege ---
  // SST's Queue link: sqs:* on the queue for the API and the worker.
  {
    copy: "A",
    file: "infra/tasks.ts",
    from: "sst.Linkable.wrap(sst.aws.Queue,",
    to: "((_cls: unknown, _cb: unknown) => undefined)(sst.aws.Queue,",
    caught:
      "WorkerRole allows sqs:* on arn:aws:sqs:us-east-1:123456789012:TaskQueueQueue (an app role)",
  },
  // SST's Email link: ses:* on the identity and send on every resource (needs SLIPWAY_MAIL_SENDER).
  {
    copy: "B",
    file: "infra/email.ts",
    from: "sst.Linkable.wrap(sst.aws.Email,",
    to: "((_cls: unknown, _cb: unknown) => undefined)(sst.aws.Email,",
    caught: 'WorkerRole allows ses:SendEmail, ses:SendRawEmail, ses:SendTemplatedEmail on "*"',
  },
  {
    copy: "B",
    file: "infra/tasks.ts",
    from: 'actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],',
    to: 'actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:PurgeQueue"],',
    caught:
      "WorkerRole allows sqs:PurgeQueue on arn:aws:sqs:us-east-1:123456789012:TaskQueueQueue, beyond what its code calls",
  },
  // --- the IAM parser's gaps (attack finding 7): spellings that grant as much as "*" ---
  // IAM compares actions case-insensitively.
  {
    copy: "A",
    file: "infra/api.ts",
    from: "permissions: [...apiAttachmentPermissions, ...enqueuePermissions, ...consolePermissions],",
    to: 'permissions: [...apiAttachmentPermissions, ...enqueuePermissions, ...consolePermissions, { actions: ["S3:GetObject"], resources: ["*"] }],',
    caught: 'ApiTaskRole allows s3:GetObject on "*"',
  },
  // Every bucket's every object, spelled as an ARN.
  {
    copy: "B",
    file: "infra/api.ts",
    from: "permissions: [...apiAttachmentPermissions, ...enqueuePermissions, ...consolePermissions],",
    to: 'permissions: [...apiAttachmentPermissions, ...enqueuePermissions, ...consolePermissions, { actions: ["s3:GetObject"], resources: ["arn:aws:s3:::*"] }],',
    caught: 'ApiTaskRole allows s3:GetObject on "arn:aws:s3:::*"',
  },
  // Every secret of the account: a `*` in the region runs to the end.
  {
    copy: "A",
    file: "infra/api.ts",
    from: 'statements: [{ actions: ["ssm:GetParameters"], resources: secretArns }],',
    to: 'statements: [{ actions: ["ssm:GetParameters"], resources: secretArns }, { actions: ["secretsmanager:GetSecretValue"], resources: ["arn:aws:secretsmanager:*"] }],',
    caught: 'ApiExecutionRole allows secretsmanager:GetSecretValue on "arn:aws:secretsmanager:*"',
  },
  // An Allow of everything but IAM (inline on a role: copy A is priced, a RolePolicy is not).
  {
    copy: "A",
    file: "infra/api.ts",
    from: "args.inlinePolicies = [",
    to: 'args.inlinePolicies = [{ name: "planted", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", NotAction: "iam:*", Resource: "*" }] }) },',
    caught: "ApiExecutionRole allows NotAction iam:* (an app role)",
  },
  // Every parameter but one.
  {
    copy: "B",
    file: "infra/api.ts",
    from: "router.route(API_PATH, gateway.url);",
    to: 'router.route(API_PATH, gateway.url); new aws.iam.RolePolicy("PlantedNotResource", { role: service.nodes.taskRole.name, policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "ssm:GetParameter", NotResource: "arn:aws:ssm:us-east-1:123456789012:parameter/x" }] }) });',
    caught:
      "PlantedNotResource allows NotResource arn:aws:ssm:us-east-1:123456789012:parameter/x (an app role)",
  },
  // A partial wildcard over a service's actions, on every queue.
  {
    copy: "B",
    file: "infra/api.ts",
    from: 'if (!$dev) gateway.routePrivate("$default", service.nodes.cloudmapService.arn);',
    to: 'if (!$dev) gateway.routePrivate("$default", service.nodes.cloudmapService.arn); new aws.iam.RolePolicy("PlantedWildcard", { role: service.nodes.taskRole.name, policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sqs:*Message", Resource: "arn:aws:sqs:*:*:*" }] }) });',
    caught: "PlantedWildcard allows sqs:*Message on arn:aws:sqs:*:*:* (an app role)",
  },
  // --- the cache (SLIPWAY_CACHE=valkey) ---
  {
    copy: "A",
    file: "infra/cache.ts",
    from: 'toGroup("WorkerToCache", securityGroups.worker, group, VALKEY_PORT);',
    to: 'toGroup("WorkerToCache", securityGroups.worker, group, VALKEY_PORT); new aws.vpc.SecurityGroupIngressRule("WideCache", { securityGroupId: group.id, cidrIpv4: "10.0.0.0/16", ipProtocol: "tcp", fromPort: 6379, toPort: 6379 });',
    caught: "the cache's group admits tcp 6379-6379 from 10.0.0.0/16",
  },
  {
    copy: "B",
    file: "infra/cache.ts",
    from: "subnetIds: vpc.privateSubnets,",
    to: "subnetIds: vpc.publicSubnets,",
    caught: "the cache is in subnets",
  },
  {
    copy: "B",
    file: "infra/tasks.ts",
    from: "    ...cacheLinks,\n    ...(email ? [email] : []),",
    to: "    ...(email ? [email] : []),",
    caught: "the worker is not linked to the Cache",
  },
  // --- hosts ---
  {
    copy: "A",
    file: "infra/network.ts",
    from: 'httpTokens: "required"',
    to: 'httpTokens: "optional"',
    caught: "answers IMDSv1 (httpTokens optional)",
  },
  // With a managed NAT (copy A), SST's own bastion instance and its group.
  {
    copy: "A",
    file: "infra/network.ts",
    from: "cidrBlocks: [variables.bastionCidr]",
    to: 'cidrBlocks: ["0.0.0.0/0"]',
    caught:
      "VpcBastionSecurityGroup admits SSH from 0.0.0.0/0, not only SLIPWAY_BASTION_CIDR (203.0.113.0/24)",
  },
  // SST's NAT role: AmazonSSMManagedInstanceCore reads every SSM parameter, from a public host.
  {
    copy: "B",
    file: "infra/network.ts",
    from: 'nat: { ec2: { instance: "t4g.nano", role: natRole.name } }',
    to: 'nat: "ec2"',
    caught:
      "VpcNatInstanceRole has arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore, not a reviewed managed policy",
  },
  // --- issue 20: the dashboard and the alarms read metrics that exist ---
  // A widget on a database identifier the graph does not have.
  {
    copy: "A",
    file: "infra/monitoring.ts",
    from: '"FreeStorageSpace",\n                  "DBInstanceIdentifier",\n                  instance.identifier,',
    to: '"FreeStorageSpace",\n                  "DBInstanceIdentifier",\n                  "slipway-db",',
    caught:
      'widget "Database free storage, bytes": AWS/RDS FreeStorageSpace DBInstanceIdentifier slipway-db names no resource in the graph',
  },
  // A widget on an app metric the code does not emit.
  {
    copy: "B",
    file: "infra/monitoring.ts",
    from: 'emf("TaskFailures", { Task: t }',
    to: 'emf("TaskFailure", { Task: t }',
    caught:
      'widget "Task failures by task (app)": Slipway TaskFailure is not a metric the app emits',
  },
  // A route group the code never emits.
  {
    copy: "B",
    file: "infra/monitoring.ts",
    from: 'ROUTE_GROUPS.map((g) => emf("Errors5xx"',
    to: '["everything"].map((g) => emf("Errors5xx"',
    caught: "Slipway Errors5xx RouteGroup everything is never emitted",
  },
  // The oldest-task alarm on the dead letters.
  {
    copy: "A",
    file: "infra/monitoring.ts",
    from: "dimensions: { QueueName: taskQueue.nodes.queue.name },",
    to: "dimensions: { QueueName: deadLetters.nodes.queue.name },",
    caught: "the oldest-task alarm does not watch the task queue",
  },
  // The sign-in alarm on another stage's metric.
  {
    copy: "B",
    file: "infra/monitoring.ts",
    from: "dimensions: { Stage: $app.stage },",
    to: 'dimensions: { Stage: "prod" },',
    caught: "AlarmLoginFailures: Slipway LoginFailures reads Stage prod, not this stage",
  },
  // An alarm that says nothing of what to do.
  {
    copy: "A",
    file: "infra/monitoring.ts",
    from: "minutes. Check first: the worker's errors",
    to: "minutes. See the worker's errors",
    caught: "AlarmOldestTask says nothing of what to check first",
  },
  // --- scaling (seed 003, ADR 032) ---
  {
    copy: "A",
    file: "infra/stage.ts",
    from: "scaleIn: { cpuBelowPercent: 20,",
    to: "scaleIn: { cpuBelowPercent: 40,",
    caught: 'ApiIdleCpu is not "average CPU below 20% for 5 minutes in a row"',
  },
  {
    copy: "B",
    file: "infra/api.ts",
    from: "disableScaleIn: true,",
    to: "disableScaleIn: false,",
    caught: "ApiScaleOutOnCpu scales in (disableScaleIn is not true)",
  },
  {
    copy: "A",
    file: "infra/stage.ts",
    from: "stopTimeoutSeconds: 30,",
    to: "stopTimeoutSeconds: 10,",
    caught: "the API container's stopTimeout is 10, expected 30 to 120 s",
  },
  {
    copy: "B",
    file: "infra/stage.ts",
    from: "capTasks: isProduction ? 8 : 2,",
    to: "capTasks: isProduction ? 20 : 2,",
    caught: "at the cap: 20 tasks × 5 + worker 5 × 2 + migrator 1 = 111 connections, over 90",
  },
];

beforeAll(async () => {
  const copy = (id: string) =>
    copyConfig(
      `broken-${id}`,
      breakages.filter((b) => b.copy === id),
    );
  const none = { variables: {}, secrets };
  const all = { variables: everyVariable, secrets };
  // Every evaluation side by side (~5 minutes on a loaded 2-core machine), named once: the keys
  // are the graphs the checks below ask for.
  const evaluations: Record<GraphName, ReturnType<typeof evaluate>> = {
    production: evaluate({ stage: "production", ...none }),
    staging: evaluate({ stage: "staging", ...none }),
    preview: evaluate({ stage: PREVIEW, ...none }),
    dev: evaluate({ stage: "staging", dev: true, ...none }),
    // A developer's `sst dev` (a preview's: on staging's VPC, the embedded database).
    devPreview: evaluate({ stage: "frank", dev: true, ...none }),
    everything: evaluate({ stage: "production", ...all }),
    brokenA: evaluate({ stage: "production", config: copy("A"), ...all }),
    brokenB: evaluate({ stage: "production", config: copy("B"), ...all }),
    aurora: evaluate({ stage: "production", variables: AURORA, secrets }),
    proxy: evaluate({ stage: "production", variables: PROXY, secrets }),
    // Staging's Aurora pauses; with a proxy it cannot.
    auroraStaging: evaluate({ stage: "staging", variables: AURORA, secrets }),
    auroraProxyStaging: evaluate({ stage: "staging", variables: { ...AURORA, ...PROXY }, secrets }),
    // Production with its read replica (ADR 034).
    replica: evaluate({ stage: "production", variables: { SLIPWAY_READ_REPLICAS: "1" }, secrets }),
  };
  const names = Object.keys(evaluations) as GraphName[];
  const evaluated = await Promise.all(names.map((name) => evaluations[name]));
  names.forEach((name, i) => {
    graphs[name] = evaluated[i] as Evaluation;
  });
  // One after the other, so the same (idle) worker runs both.
  refusedBefore = await evaluate({
    stage: "production",
    variables: { SLIPWAY_CACHE: "redis" },
  }).then(
    () => undefined,
    (error: unknown) => error,
  );
  productionAgain = await evaluate({ stage: "production", ...none });
}, 600_000);

describe.each([
  ["production", "production"],
  ["staging", "staging"],
  ["preview", "preview"],
  ["dev", "dev"],
  ["devPreview", "dev"],
  ["everything", "production"],
  ["aurora", "production"],
  ["proxy", "production"],
  ["auroraStaging", "staging"],
  ["auroraProxyStaging", "staging"],
  ["replica", "production"],
] as const)("the %s stage", (graph, kind) => {
  it.each(Object.keys(checks))("%s", (name) => {
    const found = violations(graphs[graph], kind).filter((v) => v.startsWith(`${name}: `));
    expect(found).toEqual([]);
  });
});

describe("stage variables", () => {
  it("a bastion without SLIPWAY_BASTION_CIDR is refused, naming the variable", async () => {
    // The NAT instance would otherwise take SSH from anywhere: nothing is deployed.
    await expect(
      evaluate({ stage: "production", variables: { SLIPWAY_BASTION: "true" } }),
    ).rejects.toThrow("SLIPWAY_BASTION=true needs SLIPWAY_BASTION_CIDR");
  }, 120_000);

  it("SLIPWAY_CACHE other than postgres or valkey is refused, naming it", async () => {
    await expect(
      evaluate({ stage: "production", variables: { SLIPWAY_CACHE: "redis" } }),
    ).rejects.toThrow('SLIPWAY_CACHE must be "postgres" or "valkey", got "redis"');
  }, 120_000);

  it.each([
    [
      "production",
      "2",
      'SLIPWAY_READ_REPLICAS must be 0 or 1 (one replica is what the app routes reads to), got "2"',
    ],
    [
      "production",
      "true",
      'SLIPWAY_READ_REPLICAS must be 0 or 1 (one replica is what the app routes reads to), got "true"',
    ],
    [PREVIEW, "1", "SLIPWAY_READ_REPLICAS=1: pr-42 shares staging's RDS instance"],
  ])(
    "%s with SLIPWAY_READ_REPLICAS=%s is refused, naming it",
    async (stage, value, message) => {
      await expect(
        evaluate({ stage, variables: { SLIPWAY_READ_REPLICAS: value } }),
      ).rejects.toThrow(message);
    },
    120_000,
  );

  it("SLIPWAY_READ_REPLICAS=1 with Aurora or with the proxy is refused, naming why", async () => {
    await expect(
      evaluate({
        stage: "production",
        variables: { SLIPWAY_READ_REPLICAS: "1", SLIPWAY_DATABASE: "aurora-serverless" },
      }),
    ).rejects.toThrow("SLIPWAY_READ_REPLICAS=1 is for the RDS instance");
    await expect(
      evaluate({
        stage: "production",
        variables: { SLIPWAY_READ_REPLICAS: "1", SLIPWAY_DB_PROXY: "true" },
      }),
    ).rejects.toThrow("SLIPWAY_READ_REPLICAS=1 with SLIPWAY_DB_PROXY=true is not supported");
  }, 120_000);
});

describe("the checks bite", () => {
  it.each(breakages)("$file: $from -> $to is caught", ({ copy, caught }) => {
    const broken = copy === "A" ? graphs.brokenA : graphs.brokenB;
    expect(violations(broken, "production").join("\n")).toContain(caught);
  });
});

describe("resource graph facts", () => {
  it("an evaluation leaves nothing behind in its worker, nor does a refused one: production evaluated after others is a fresh worker's graph", () => {
    expect(graphs.production.worker?.earlier).toBe(0);
    expect(productionAgain.worker?.earlier).toBeGreaterThan(1);
    expect(refusedBefore).toBeInstanceOf(EvaluationError);
    expect(String(refusedBefore)).toMatch(/SLIPWAY_CACHE must be "postgres" or "valkey"/);
    expect((refusedBefore as EvaluationError).worker?.pid).toBe(productionAgain.worker?.pid);
    // But what differs between any two evaluations: the random suffix SST's physical names end
    // with (crypto.randomBytes), the migrator's deploy time, the site build's trigger, and the
    // order of registration (each Lambda's resources follow its build, whichever ends first).
    const byKey = (a: EvaluatedResource, b: EvaluatedResource) =>
      `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`);
    const comparable = (graph: Evaluation) =>
      JSON.parse(
        JSON.stringify([...graph.resources].sort(byKey))
          .replace(/-[a-z]{8}(?![a-z])/g, "-<random>")
          .replace(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/g, "<time>")
          .replace(/"\d{13}"/g, '"<epoch-ms>"'),
      );
    expect(comparable(productionAgain)).toEqual(comparable(graphs.production));
    expect(productionAgain.outputs).toEqual(graphs.production.outputs);
  });

  it("production and staging differ only where the design says", () => {
    const count = (e: Evaluation, type: string) =>
      e.resources.filter((r) => r.type === type).length;
    for (const type of [
      "aws:rds/instance:Instance",
      "aws:ecs/service:Service",
      "aws:lambda/invocation:Invocation",
    ]) {
      expect(count(graphs.production, type)).toBe(1);
      expect(count(graphs.staging, type)).toBe(1);
      expect(count(graphs.dev, type)).toBe(0);
      expect(count(graphs.devPreview, type)).toBe(0);
    }
  });

  it("a preview creates no NAT instance, no Elastic IP, no RDS instance: it reads staging's", () => {
    const own = (type: string) =>
      graphs.preview.resources.filter((r) => r.type === type && !r.read).length;
    const read = (type: string) =>
      graphs.preview.resources.filter((r) => r.type === type && r.read).map((r) => r.read);
    expect(own("aws:ec2/instance:Instance")).toBe(0);
    expect(own("aws:ec2/eip:Eip")).toBe(0);
    expect(own("aws:rds/instance:Instance")).toBe(0);
    expect(own("aws:ec2/vpc:Vpc")).toBe(0);
    // The base stage of the mock account (scripts/infra/worker/mocks.ts).
    expect(read("aws:ec2/vpc:Vpc")).toEqual(["vpc-0base"]);
    expect(read("aws:rds/instance:Instance")).toEqual(["databaseinstance-base"]);
    expect(read("aws:ec2/instance:Instance")).toEqual(["i-0basenat1", "i-0basenat2"]);
    // Its own ECS service, worker and migrator, as staging's.
    expect(own("aws:ecs/service:Service")).toBe(1);
    expect(own("aws:lambda/invocation:Invocation")).toBe(1);
  });
});

describe("sst tunnel", () => {
  it("with a bastion the database admits it on 5432 (the NAT group), without one nothing but the app's groups", () => {
    const bastionRules = (e: Evaluation) =>
      e.resources.filter(
        (r) =>
          r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" &&
          r.inputs.securityGroupId === "DatabaseSecurityGroup-id" &&
          r.inputs.referencedSecurityGroupId === "VpcNatInstanceSecurityGroup-id",
      );
    expect(
      bastionRules(graphs.everything).map((r) => [r.inputs.fromPort, r.inputs.toPort]),
    ).toEqual([[5432, 5432]]);
    expect(bastionRules(graphs.production)).toEqual([]);
  });
});

describe("the sharing checks bite (the preview graph, changed in memory)", () => {
  const changed = (change: (resources: EvaluatedResource[]) => EvaluatedResource[]) => ({
    ...graphs.preview,
    resources: change(structuredClone(graphs.preview.resources)),
  });
  const planted = (type: string, name: string, inputs: Record<string, unknown> = {}) => ({
    type,
    name,
    custom: true,
    dependsOn: [],
    inputs,
  });
  it.each([
    [
      "a NAT instance of its own",
      planted("aws:ec2/instance:Instance", "VpcNatInstance1", {
        metadataOptions: { httpTokens: "required" },
      }),
      "expected 0 NAT instances, found 1",
    ],
    [
      "an Elastic IP of its own",
      planted("aws:ec2/eip:Eip", "VpcElasticIp1"),
      "expected 0 Elastic IPs, found 1",
    ],
    [
      "an RDS instance of its own",
      planted("aws:rds/instance:Instance", "DatabaseInstance"),
      "a preview creates 1 RDS instance(s)",
    ],
  ])("%s", (_what, resource, caught) => {
    const broken = changed((resources) => [...resources, resource]);
    expect(violations(broken, "preview").join("\n")).toContain(caught);
  });

  it("a preview whose removal would leave its database behind", () => {
    const broken = changed((resources) =>
      resources.map((r) =>
        r.type === "aws:lambda/invocation:Invocation"
          ? { ...r, inputs: { ...r.inputs, lifecycleScope: undefined } }
          : r,
      ),
    );
    expect(violations(broken, "preview").join("\n")).toContain(
      "removing the preview does not invoke the migrator (lifecycleScope CRUD)",
    );
  });

  it("staging reading another stage's VPC", () => {
    const vpc = graphs.preview.resources.find((r) => r.type === "aws:ec2/vpc:Vpc" && r.read);
    const broken = {
      ...graphs.staging,
      resources: [...graphs.staging.resources, vpc as EvaluatedResource],
    };
    expect(violations(broken, "staging").join("\n")).toContain(
      "staging reads another stage's vpc-0base",
    );
  });

  it("sst dev without the embedded database's dev command", () => {
    const broken = {
      ...graphs.dev,
      resources: graphs.dev.resources.filter((r) => r.name !== "EmbeddedDatabase"),
    };
    expect(violations(broken, "dev").join("\n")).toContain("no EmbeddedDatabase dev command");
  });
});

describe("the read replica (SLIPWAY_READ_REPLICAS=1)", () => {
  const replicaOf = (e: Evaluation) =>
    e.resources.filter(
      (r) => r.type === "aws:rds/instance:Instance" && r.inputs.replicateSourceDb !== undefined,
    );
  it("one replica with the variable, none without", () => {
    expect(replicaOf(graphs.replica).map((r) => r.name)).toEqual(["DatabaseReplica"]);
    for (const graph of ["production", "staging", "preview", "dev", "everything"] as const)
      expect(replicaOf(graphs[graph])).toEqual([]);
  });

  const changed = (change: (resources: EvaluatedResource[]) => EvaluatedResource[]) => ({
    ...graphs.replica,
    resources: change(structuredClone(graphs.replica.resources)),
  });
  const onReplica = (inputs: Record<string, unknown>) =>
    changed((resources) =>
      resources.map((r) =>
        r.name === "DatabaseReplica" ? { ...r, inputs: { ...r.inputs, ...inputs } } : r,
      ),
    );
  it.each([
    [
      "a smaller class",
      { instanceClass: "db.t4g.nano" },
      "the replica's instanceClass is db.t4g.nano",
    ],
    [
      "the VPC's default group",
      { vpcSecurityGroupIds: [] },
      "the replica is in security groups [the VPC default]",
    ],
    [
      "another subnet group",
      { dbSubnetGroupName: "public" },
      "the replica's dbSubnetGroupName is public",
    ],
    [
      "another parameter group",
      { parameterGroupName: "default.postgres17" },
      "the replica's parameterGroupName is default.postgres17",
    ],
    ["public", { publiclyAccessible: true }, "the replica is publicly accessible"],
    [
      "of another instance",
      { replicateSourceDb: "someone-else" },
      "replicates someone-else, not the primary",
    ],
    ["its lag alarm on another", { identifier: "renamed" }, "no alarm on the replica's ReplicaLag"],
  ])("the checks catch a replica %s", (_what, inputs, caught) => {
    expect(violations(onReplica(inputs), "production").join("\n")).toContain(caught);
  });

  it("the checks catch an API that does not read the replica, and a replica nobody asked for", () => {
    const noSecret = changed((resources) =>
      resources.map((r) =>
        r.type === "aws:ecs/taskDefinition:TaskDefinition"
          ? {
              ...r,
              inputs: {
                ...r.inputs,
                containerDefinitions: String(r.inputs.containerDefinitions).replaceAll(
                  "DATABASE_READER_URL",
                  "DATABASE_READER_URI",
                ),
              },
            }
          : r,
      ),
    );
    expect(violations(noSecret, "production").join("\n")).toContain(
      "the API has no DATABASE_READER_URL ECS secret from a SecureString",
    );
    const unasked = { ...graphs.replica, variables: {} };
    expect(violations(unasked, "production").join("\n")).toContain(
      "DatabaseReplica is a read replica without SLIPWAY_READ_REPLICAS=1",
    );
  });

  it("is priced as one more instance of the primary's class, its storage (single-AZ) and its lag alarm: nothing else", () => {
    const lines = price(graphs.replica, 0).lines.filter((l) =>
      /^(DatabaseReplica|AlarmReplicaLag)/.test(l.resource),
    );
    expect(lines.map((l) => [l.resource, l.detail, l.idle])).toEqual([
      ["DatabaseReplica", "db.t4g.micro × 1", 11.68],
      ["DatabaseReplica storage", "20 GB gp3 × 1, grows on its own to 100 GB: at most $11.50", 2.3],
      ["AlarmReplicaLag", "standard alarm", 0.1],
    ]);
    const added = price(graphs.replica, 0).idle - price(graphs.production, 0).idle;
    expect(added).toBeCloseTo(14.08, 2);
  });
});

describe("cost", () => {
  it.each(["production", "staging", "preview"] as const)(
    "%s: idle cost stays within its budget (infra/budgets.ts)",
    (graph) => {
      const stage = graphs[graph].app.stage;
      const report = price(graphs[graph], 0);
      const budget = budgetFor(stage);
      const message = `${stage} idles at $${report.idle}, over its $${budget} budget; grew: ${grown(report, readBaseline()).join("; ")}`;
      expect(report.idle, message).toBeLessThanOrEqual(budget);
    },
  );

  it.each(["production", "staging", "preview"] as const)(
    "%s: the cost baseline is current (after an infra change: npm run cost -- --write-baseline)",
    (graph) => {
      const stage = graphs[graph].app.stage;
      expect(baselineEntry(price(graphs[graph], 0))).toEqual(readBaseline()[stage]);
    },
  );

  it("a preview idles under $5 a month: its base pays for the VPC, NAT and database", () => {
    const report = price(graphs.preview, 0);
    expect(report.idle).toBeLessThan(5);
    for (const line of report.lines)
      expect(line.resource).not.toMatch(
        /^(VpcNatInstance|VpcElasticIp|DatabaseInstance|VpcCloudmapNamespace)/,
      );
  });

  it("every stage variable's resources are priced, and only the Valkey cache adds to idle", () => {
    // An SES identity, an ACM certificate and Route 53 records, the alarm email subscription and
    // the bastion's SSH key (in a free standard SSM parameter) cost nothing a month, and the
    // bastion is NAT instance #1: the same idle cost as production without them. SLIPWAY_CACHE
    // =valkey pays ElastiCache Serverless's minimum storage, 0.1 GB × 730 h × $0.084.
    const everything = price(graphs.everything, 0);
    const cache = everything.lines.filter((l) => l.type === "ElastiCache");
    expect(cache.map((l) => [l.resource, l.idle])).toEqual([["Cache", 6.13]]);
    expect(Math.round((everything.idle - 6.13) * 100) / 100).toBe(price(graphs.production, 0).idle);
    // Its ECPUs grow with traffic: 10M requests, one command each, at $0.0023 per million:
    // $6.132 + $0.023.
    const busy = price(graphs.everything, 10_000_000).lines.find((l) => l.resource === "Cache");
    expect(busy?.atTraffic).toBe(6.16);
  });

  it("the database's storage is priced as allocated and names what autoscaling may reach", () => {
    const storage = price(graphs.production, 0).lines.find(
      (l) => l.resource === "DatabaseInstance storage",
    );
    expect(storage?.idle).toBe(4.6);
    expect(storage?.detail).toContain("grows on its own to 100 GB: at most $23.00");
  });

  it("a resource type with no price fails the budget, naming the type and the resource", () => {
    // A deliberate breakage: the real production graph plus a resource nobody priced.
    const invented = {
      type: "aws:imaginary/widget:Widget",
      name: "MysteryWidget",
      custom: true,
      dependsOn: [],
      inputs: {},
    };
    const broken = { ...graphs.production, resources: [...graphs.production.resources, invented] };
    expect(() => price(broken, 0)).toThrow("aws:imaginary/widget:Widget: MysteryWidget");
  });

  it("a change that adds cost fails the budget and names what grew", () => {
    // Copy A swaps fck-nat for managed NAT gateways (among its breakages).
    const report = price(graphs.brokenA, 0);
    expect(report.idle).toBeGreaterThan(budgets.production);
    expect(grown(report, readBaseline()).join("\n")).toMatch(/VpcNatGateway1: \$0\.00 -> \$32\.85/);
  });
});

describe("the database switches (ADR 035)", () => {
  const types = (e: Evaluation) => new Set(e.resources.filter((r) => !r.read).map((r) => r.type));
  const changed = (
    graph: Evaluation,
    name: string,
    change: (inputs: Record<string, unknown>) => Record<string, unknown>,
  ) => ({
    ...graph,
    resources: graph.resources.map((r) =>
      r.name === name ? { ...r, inputs: change(structuredClone(r.inputs)) } : r,
    ),
  });
  const found = (graph: Evaluation, kind: StageKind) => violations(graph, kind).join("\n");

  it("each variable set has the resources it names and none of the others", () => {
    // Which of an RDS instance, an Aurora cluster and an RDS Proxy the graph holds.
    const kinds = ["aws:rds/instance:Instance", "aws:rds/cluster:Cluster", "aws:rds/proxy:Proxy"];
    const held = (graph: Evaluation) => kinds.map((t) => types(graph).has(t));
    expect(held(graphs.production)).toEqual([true, false, false]);
    expect(held(graphs.aurora)).toEqual([false, true, false]);
    expect(held(graphs.proxy)).toEqual([true, false, true]);
    expect(held(graphs.auroraProxyStaging)).toEqual([false, true, true]);
  });

  it("the app role goes through the proxy, the migrator never does", () => {
    const link = (graph: Evaluation, name: string) =>
      graph.resources.find((r) => r.name === `${name}LinkRef`)?.inputs.properties as {
        host?: string;
      };
    expect(link(graphs.proxy, "AppDatabase").host).toBe(
      "DatabaseProxy.proxy-mock.rds.amazonaws.com",
    );
    expect(link(graphs.proxy, "Database").host).toBe("DatabaseInstance.mock.rds.amazonaws.com");
    expect(link(graphs.aurora, "AppDatabase").host).toBe(
      "AuroraCluster.cluster-mock.rds.amazonaws.com",
    );
    expect(link(graphs.auroraProxyStaging, "Database").host).toBe(
      "AuroraCluster.cluster-mock.rds.amazonaws.com",
    );
  });

  it("Aurora and RDS Proxy are priced, idle and at traffic, above the default (a pausing staging Aurora below it)", () => {
    const idle = (graph: Evaluation) => price(graph, 0).idle;
    expect(idle(graphs.auroraStaging)).toBeLessThan(idle(graphs.staging));
    expect(idle(graphs.aurora)).toBeGreaterThan(idle(graphs.production));
    expect(idle(graphs.proxy) - idle(graphs.production)).toBeCloseTo(21.9 + 0.4, 2);
    expect(price(graphs.aurora, 1e8).atTraffic).toBeGreaterThan(idle(graphs.aurora));
  });

  it.each([
    [
      "an Aurora instance reachable from the internet",
      () => changed(graphs.aurora, "AuroraInstance", (i) => ({ ...i, publiclyAccessible: true })),
      "AuroraInstance is publicly accessible",
    ],
    [
      "Aurora's TLS requirement dropped",
      () =>
        changed(graphs.aurora, "AuroraClusterParameterGroup", (i) => ({ ...i, parameters: [] })),
      "Aurora rds.force_ssl is unset, not 1",
    ],
    [
      "production's Aurora set to pause",
      () =>
        changed(graphs.aurora, "AuroraCluster", (i) => ({
          ...i,
          serverlessv2ScalingConfiguration: {
            minCapacity: 0,
            maxCapacity: 4,
            secondsUntilAutoPause: 300,
          },
        })),
      "Aurora capacity 0-4 ACU, expected 0.5-4",
    ],
    [
      "a proxy that takes plaintext logins",
      () => changed(graphs.proxy, "DatabaseProxy", (i) => ({ ...i, requireTls: false })),
      "the proxy accepts plaintext logins",
    ],
    [
      "a proxy in the VPC's default group",
      () =>
        changed(graphs.proxy, "DatabaseProxy", (i) => ({
          ...i,
          vpcSecurityGroupIds: ["VpcSecurityGroup-id"],
        })),
      "the proxy is in [VpcSecurityGroup], not its own group",
    ],
    [
      "the API reaching the database around the proxy",
      () =>
        changed(graphs.proxy, "ApiToProxyIngress", (i) => ({
          ...i,
          securityGroupId: "DatabaseSecurityGroup-id",
        })),
      "the database's group admits tcp 5432-5432 from ApiSecurityGroup",
    ],
    [
      "the app role connecting to the instance itself",
      () =>
        changed(graphs.proxy, "AppDatabaseLinkRef", (i) => ({
          ...i,
          properties: {
            ...(i.properties as object),
            host: "DatabaseInstance.mock.rds.amazonaws.com",
          },
        })),
      "AppDatabase connects to DatabaseInstance.mock.rds.amazonaws.com, not the proxy",
    ],
  ] as const)("%s is caught", (_what, broken, caught) => {
    expect(found(broken(), "production")).toContain(caught);
  });

  it("a proxy the stage variables did not ask for is caught (its cost)", () => {
    const planted = graphs.proxy.resources.filter((r) => r.type === "aws:rds/proxy:Proxy");
    const broken = {
      ...graphs.production,
      resources: [...graphs.production.resources, ...planted],
    };
    expect(found(broken, "production")).toContain("1 RDS Proxy with SLIPWAY_DB_PROXY=false (cost)");
  });

  it("a preview sharing staging's database may not choose one, naming the variable", async () => {
    await expect(evaluate({ stage: PREVIEW, variables: AURORA, secrets })).rejects.toThrow(
      "SLIPWAY_DATABASE: pr-42 shares staging's database",
    );
  }, 120_000);
});

/**
 * A deploy while `npm run scale` has an override active (ADR 032): the account's SSM holds the
 * CLI's record, as the mocks answer infra/api.ts's lookup. In this file rather than one of its
 * own, so its evaluations run in this file's warm workers (a file of its own started a pool, and
 * built the Lambdas, for two evaluations).
 */
const PARAMETER = "/slipway/production/scaling/api-override";
const record = (configured: { min: number; max: number }, until: string | null) =>
  JSON.stringify({
    min: 4,
    max: 8,
    until,
    configured,
    setAt: "2026-12-20T12:00:00.000Z",
    setBy: "ops",
  });
describe("a deploy during a scaling override", () => {
  it("keeps the override's bounds on the scalable target, and the graph's checks hold", async () => {
    const graph = await evaluate({
      stage: "production",
      variables: {},
      secrets,
      ssmParameters: { [PARAMETER]: record({ min: 1, max: 4 }, "2999-01-01T00:00:00.000Z") },
    });
    const target = graph.resources.find((r) => r.type === "aws:appautoscaling/target:Target");
    expect([target?.inputs.minCapacity, target?.inputs.maxCapacity]).toEqual([4, 8]);
    // The bounds the override returns to (and the CLI's link) stay the configured ones.
    const link = graph.resources.find((r) => r.name === "ApiScalingLinkRef");
    expect(link?.inputs.properties).toMatchObject({ min: 1, max: 4, cap: 8 });
    const scaling = violations(graph, "production").filter((v) => v.startsWith("api scaling"));
    expect(scaling).toEqual([]);
  }, 300_000);

  it("is refused, naming the override and the way out, when it would change the configured bounds", async () => {
    await expect(
      evaluate({
        stage: "production",
        variables: {},
        secrets,
        ssmParameters: { [PARAMETER]: record({ min: 2, max: 4 }, null) },
      }),
    ).rejects.toThrow(
      /A scaling override is active on production \(min 4, max 8, no end\), set when the stage was configured min 2 max 4; this deploy configures min 1 max 4\. Run `npm run scale -- --stage production --reset`/,
    );
  }, 300_000);
});
