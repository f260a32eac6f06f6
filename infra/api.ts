import { database, migration } from "./database";
import { vpc } from "./network";
import { secrets } from "./secrets";
import { isProduction, sizing, variables } from "./stage";
import { apiAttachmentPermissions, attachmentStore } from "./storage";
import { taskQueue } from "./tasks";
import { router, siteOrigin } from "./web";

const API_PORT = 3000;

/**
 * The API container on Fargate, ARM, in the private subnets with no public IP, registered in
 * Cloud Map. No load balancer (~$18/month): API Gateway reaches the tasks through a VPC link.
 * The object form of `vpc` is what keeps the tasks private (an SST Vpc puts them in public subnets).
 */
export const cluster = new sst.aws.Cluster("Cluster", {
  vpc: {
    id: vpc.id,
    securityGroups: vpc.securityGroups,
    containerSubnets: vpc.privateSubnets,
    loadBalancerSubnets: vpc.publicSubnets,
    cloudmapNamespaceId: vpc.nodes.cloudmapNamespace.id,
    cloudmapNamespaceName: vpc.nodes.cloudmapNamespace.name,
  },
});

export const service = new sst.aws.Service("Api", {
  cluster,
  architecture: "arm64",
  cpu: sizing.api.cpu,
  memory: sizing.api.memory,
  image: { context: ".", dockerfile: "packages/core/Dockerfile" },
  // The outbox relays to the task queue. The attachment store grants nothing: the API's access to
  // the uploads bucket is exactly `permissions`.
  link: [database, taskQueue, secrets.SentryDsn, attachmentStore],
  permissions: apiAttachmentPermissions,
  environment: {
    PORT: String(API_PORT),
    // Deployed stages migrate in the migrator function; `sst dev` runs the API locally and migrates there.
    MIGRATE_ON_BOOT: $dev ? "true" : "false",
    // CSRF: unsafe requests must come from the site (through the Router, one origin).
    ALLOWED_ORIGINS: siteOrigin,
    SLIPWAY_RELEASE: variables.release,
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
  scaling: {
    min: sizing.api.minTasks,
    max: sizing.api.maxTasks,
    cpuUtilization: sizing.api.cpuTargetPercent,
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
        securityGroups: network?.securityGroups,
        assignPublicIp: false,
      }));
      // Rolling deploys that roll back on failure (SST's default, stated so it stays).
      args.deploymentCircuitBreaker = { enable: true, rollback: true };
      args.deploymentMinimumHealthyPercent = isProduction ? 100 : 0;
      // New code never serves before its migrations succeeded.
      if (migration) opts.dependsOn = [migration];
    },
  },
});

/** The public HTTP API: API Gateway HTTP API → VPC link (private subnets) → Cloud Map → tasks. */
export const gateway = new sst.aws.ApiGatewayV2("Gateway", {
  vpc: { securityGroups: vpc.securityGroups, subnets: vpc.privateSubnets },
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

router.route("/api", gateway.url);
