import { cacheLinks } from "./cache";
import {
  APP_DATABASE_SSL,
  appDatabaseUrl,
  appReaderDatabaseUrl,
  databaseConnection,
  migration,
} from "./database";
import { API_PORT, securityGroups, vpc } from "./network";
import { API_PATH, originSecret } from "./origin";
import { deployBounds, overrideParameter, overridePath } from "./scaling-override";
import { secrets } from "./secrets";
import { isProduction, sizing, variables } from "./stage";
import { apiAttachmentPermissions, attachmentStore } from "./storage";
import { consolePermissions, deadLetters, enqueuePermissions, taskQueue } from "./tasks";
import { router, siteOrigin } from "./web";

/**
 * The API's secrets reach it as ECS secrets: SSM SecureStrings that the task's execution role
 * reads when a task starts, so none is a plain value of the task definition (a link would be:
 * SST puts a container's links in plain `SST_RESOURCE_*` variables). Standard parameters are
 * free. Under `sst dev` the API runs locally, with the dev database and links instead.
 */
const secureParameter = (
  name: string,
  path: string,
  description: string,
  value: $util.Input<string>,
) =>
  new aws.ssm.Parameter(name, {
    name: `/${$app.name}/${$app.stage}/api/${path}`,
    type: "SecureString",
    tier: "Standard",
    description,
    value,
  });

const apiSecrets = $dev
  ? undefined
  : {
      DATABASE_URL: appDatabaseUrl as aws.ssm.Parameter,
      // SLIPWAY_READ_REPLICAS=1: the reads that tolerate lag go there (ADR 034).
      ...(appReaderDatabaseUrl ? { DATABASE_READER_URL: appReaderDatabaseUrl } : {}),
      ORIGIN_SECRET: secureParameter(
        "ApiOriginSecret",
        "origin-secret",
        "The x-slipway-origin-secret CloudFront sends on /api origin requests",
        originSecret.result,
      ),
      // The JSON of SST's SentryDsn link, read as `Resource.SentryDsn.value` like a link, so an
      // empty DSN (Sentry off) is still a value SSM can hold.
      SST_RESOURCE_SentryDsn: secureParameter(
        "ApiSentryDsn",
        "sentry-dsn",
        "The SentryDsn secret, as SST's link JSON",
        $jsonStringify({ value: secrets.SentryDsn.value }),
      ),
    };

/** ECS secret name -> SSM parameter ARN. */
const ssm = apiSecrets
  ? Object.fromEntries(Object.entries(apiSecrets).map(([env, param]) => [env, param.arn]))
  : undefined;
const secretArns = apiSecrets ? Object.values(apiSecrets).map((param) => param.arn) : [];

/**
 * The API container on Fargate, ARM, in the private subnets with no public IP, registered in
 * Cloud Map. No load balancer (~$18/month): API Gateway reaches the tasks through a VPC link.
 * The object form of `vpc` is what keeps the tasks private (an SST Vpc puts them in public subnets).
 */
export const cluster = new sst.aws.Cluster("Cluster", {
  vpc: {
    id: vpc.id,
    securityGroups: [securityGroups.api.id],
    containerSubnets: vpc.privateSubnets,
    loadBalancerSubnets: vpc.publicSubnets,
    cloudmapNamespaceId: vpc.nodes.cloudmapNamespace.id,
    cloudmapNamespaceName: vpc.nodes.cloudmapNamespace.name,
  },
});

/**
 * The task-count bounds this deploy registers: the configured ones, or those of an active
 * `npm run scale` override recorded in SSM, so a deploy during a launch does not silently put
 * the service back to its configured minimum (ADR 032). Read when the deploy runs.
 */
const configuredBounds = { min: sizing.api.minTasks, max: sizing.api.maxTasks };
const scalingRecords = $dev
  ? { names: [], values: [] }
  : await aws.ssm.getParametersByPath({ path: overridePath($app.name, $app.stage) });
export const apiBounds = deployBounds({
  stage: $app.stage,
  configured: configuredBounds,
  expectedName: overrideParameter($app.name, $app.stage),
  parameters: scalingRecords.names.map((name, i) => ({
    name,
    value: scalingRecords.values[i] ?? "",
  })),
  now: new Date(),
});

export const service = new sst.aws.Service("Api", {
  cluster,
  architecture: "arm64",
  cpu: sizing.api.cpu,
  memory: sizing.api.memory,
  image: { context: ".", dockerfile: "packages/core/Dockerfile" },
  // Links carry no secret and grant nothing (the queues' URLs, the bucket's name): what the API
  // may do is exactly `permissions` (signing uploads, relaying the outbox to the task queue, the
  // operator console's queue views and redrives).
  link: [
    taskQueue,
    deadLetters,
    attachmentStore,
    ...cacheLinks,
    ...($dev ? [secrets.SentryDsn] : []),
  ],
  permissions: [...apiAttachmentPermissions, ...enqueuePermissions, ...consolePermissions],
  ssm,
  environment: {
    PORT: String(API_PORT),
    DATABASE_POOL_MAX: String(sizing.api.poolMax),
    // Deployed stages migrate in the migrator function; `sst dev` runs the API locally and migrates there.
    MIGRATE_ON_BOOT: $dev ? "true" : "false",
    // CSRF: unsafe requests must come from the site (through the Router, one origin).
    ALLOWED_ORIGINS: siteOrigin,
    // The base of the links account mail carries (verification, password reset).
    SITE_URL: siteOrigin,
    SLIPWAY_RELEASE: variables.release,
    DATABASE_SSL: APP_DATABASE_SSL,
    ...(apiSecrets
      ? {
          // A secret's new value (a rotation) changes the task definition: tasks restart on it.
          SLIPWAY_SECRETS_VERSION: $interpolate`${apiSecrets.DATABASE_URL.version}.${apiSecrets.ORIGIN_SECRET.version}.${apiSecrets.SST_RESOURCE_SentryDsn.version}${appReaderDatabaseUrl ? $interpolate`.${appReaderDatabaseUrl.version}` : ""}`,
        }
      : {
          // `sst dev`: the embedded database `sst dev` serves on loopback (database.ts), no TLS.
          DATABASE_URL: $interpolate`postgres://${databaseConnection.username}:${databaseConnection.password}@${databaseConnection.host}:${databaseConnection.port}/${databaseConnection.database}`,
        }),
  },
  serviceRegistry: { port: API_PORT },
  // Liveness only: a database outage must not make ECS replace every task.
  health: {
    command: [
      "CMD",
      "node",
      "-e",
      `fetch('http://127.0.0.1:${API_PORT}/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
    ],
    startPeriod: "15 seconds",
    interval: "15 seconds",
    timeout: "5 seconds",
    retries: 3,
  },
  // SST's own target-tracking policy would also scale in; the policies below replace it.
  scaling: {
    min: apiBounds.min,
    max: apiBounds.max,
    cpuUtilization: false,
    memoryUtilization: false,
  },
  // Spot is ~70% cheaper and may be interrupted: fine for staging, not for production.
  capacity: sizing.api.spot ? "spot" : undefined,
  logging: { retention: sizing.logRetention },
  dev: { command: "npx tsx watch packages/core/src/server.ts" },
  transform: {
    service: (args, opts) => {
      args.networkConfiguration = $output(args.networkConfiguration).apply((network) => ({
        subnets: network?.subnets ?? [],
        securityGroups: [securityGroups.api.id],
        assignPublicIp: false,
      }));
      // Rolling deploys that roll back on failure (SST's default, stated so it stays).
      args.deploymentCircuitBreaker = { enable: true, rollback: true };
      args.deploymentMinimumHealthyPercent = isProduction ? 100 : 0;
      // New code never serves before its migrations succeeded.
      if (migration) opts.dependsOn = [migration];
      // After creation the task count belongs to Application Auto Scaling (policies, overrides,
      // scheduled actions): a deploy setting it back to the minimum would stop busy tasks.
      opts.ignoreChanges = [...(opts.ignoreChanges ?? []), "desiredCount"];
    },
    taskDefinition: (args) => {
      // How long a stopping task (scale-in, deploy) has to finish its requests after SIGTERM.
      args.containerDefinitions = $output(args.containerDefinitions).apply((json) =>
        JSON.stringify(
          (JSON.parse(json) as Record<string, unknown>[]).map((container) => ({
            ...container,
            stopTimeout: sizing.api.stopTimeoutSeconds,
          })),
        ),
      );
    },
    // SST lets the execution role read every SSM parameter and Secrets Manager secret of the
    // account (the database's master password included). This one reads the API's own three.
    executionRole: (args) => {
      args.inlinePolicies = [
        {
          name: "inline",
          policy: aws.iam.getPolicyDocumentOutput({
            statements: [{ actions: ["ssm:GetParameters"], resources: secretArns }],
          }).json,
        },
      ];
    },
  },
});

/**
 * Scaling (seed 003): out on CPU by target tracking, which never scales in; in by a step policy
 * only after the average CPU stayed low for a sustained period, removing a share of the tasks.
 */
const scale = sizing.api.scaleIn;
export const scalingPolicies = $dev
  ? undefined
  : (() => {
      const target = service.nodes.autoScalingTarget;
      const on = {
        serviceNamespace: target.serviceNamespace,
        scalableDimension: target.scalableDimension,
        resourceId: target.resourceId,
      };
      const out = new aws.appautoscaling.Policy("ApiScaleOutOnCpu", {
        ...on,
        policyType: "TargetTrackingScaling",
        targetTrackingScalingPolicyConfiguration: {
          predefinedMetricSpecification: {
            predefinedMetricType: "ECSServiceAverageCPUUtilization",
          },
          targetValue: sizing.api.cpuTargetPercent,
          disableScaleIn: true,
          scaleOutCooldown: sizing.api.scaleOutCooldownSeconds,
        },
      });
      const scaleIn = new aws.appautoscaling.Policy("ApiScaleInWhenIdle", {
        ...on,
        policyType: "StepScaling",
        stepScalingPolicyConfiguration: {
          adjustmentType: "PercentChangeInCapacity",
          metricAggregationType: "Average",
          cooldown: scale.cooldownSeconds,
          // Removes at least one task; never goes below the registered minimum.
          minAdjustmentMagnitude: 1,
          stepAdjustments: [
            { metricIntervalUpperBound: "0", scalingAdjustment: -scale.removePercent },
          ],
        },
      });
      const idle = new aws.cloudwatch.MetricAlarm("ApiIdleCpu", {
        alarmDescription: `API average CPU below ${scale.cpuBelowPercent}% for ${scale.minutes} minutes: scale in by ${scale.removePercent}%`,
        namespace: "AWS/ECS",
        metricName: "CPUUtilization",
        dimensions: {
          ClusterName: cluster.nodes.cluster.name,
          ServiceName: service.nodes.service.name,
        },
        statistic: "Average",
        period: 60,
        evaluationPeriods: scale.minutes,
        datapointsToAlarm: scale.minutes,
        threshold: scale.cpuBelowPercent,
        comparisonOperator: "LessThanThreshold",
        // No data (no task running yet) is not a reason to remove one.
        treatMissingData: "notBreaching",
        alarmActions: [scaleIn.arn],
      });
      return { out, scaleIn, idle };
    })();

/**
 * What `npm run scale` reads under `sst shell` (every Linkable of the stage is in its
 * environment): the service to scale, the configured bounds an override returns to, the cap.
 */
export const apiScaling = $dev
  ? undefined
  : new sst.Linkable("ApiScaling", {
      properties: {
        cluster: cluster.nodes.cluster.name,
        service: service.nodes.service.name,
        min: configuredBounds.min,
        max: configuredBounds.max,
        cap: sizing.api.capTasks,
        overrideParameter: overrideParameter($app.name, $app.stage),
      },
    });

/** The public HTTP API: API Gateway HTTP API → VPC link (private subnets) → Cloud Map → tasks. */
export const gateway = new sst.aws.ApiGatewayV2("Gateway", {
  vpc: { securityGroups: [securityGroups.gatewayLink.id], subnets: vpc.privateSubnets },
  // Same origin through the Router: no CORS needed.
  cors: false,
  accessLog: { retention: sizing.logRetention },
  transform: {
    stage: {
      defaultRouteSettings: {
        throttlingBurstLimit: sizing.gateway.burstLimit,
        throttlingRateLimit: sizing.gateway.rateLimit,
      },
    },
  },
});

// Under `sst dev` the service runs locally and has no Cloud Map entry (anomalyco/sst#5556).
if (!$dev) gateway.routePrivate("$default", service.nodes.cloudmapService.arn);

router.route(API_PATH, gateway.url);
