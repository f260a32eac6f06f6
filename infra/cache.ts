/**
 * The cache port's store on AWS (packages/core/src/cache/, ADR 033). By default there is nothing
 * here: the cache is an UNLOGGED table in the stage's database. SLIPWAY_CACHE=valkey adds
 * ElastiCache Serverless for Valkey in the private subnets, reached by the API and the worker
 * only (its own security group), and links it to both as `Cache` (host and port; the app connects
 * in cluster mode over TLS, which serverless requires). SST's `sst.aws.Redis` makes a node-based
 * replication group, not a serverless cache, hence the Pulumi resource.
 *
 * Under `sst dev` the API runs on the developer's machine, outside the VPC: no cache is made and
 * the app uses the Postgres table, as offline.
 */
import { securityGroups, toGroup, vpc } from "./network";
import { sizing, variables } from "./stage";

export const VALKEY_PORT = 6379;

function serverlessValkey() {
  const group = new aws.ec2.SecurityGroup("CacheSecurityGroup", {
    vpcId: vpc.id,
    description: "Slipway cache: the API and worker only",
  });
  toGroup("ApiToCache", securityGroups.api, group, VALKEY_PORT);
  toGroup("WorkerToCache", securityGroups.worker, group, VALKEY_PORT);
  const cache = new aws.elasticache.ServerlessCache("Cache", {
    engine: "valkey",
    majorEngineVersion: "8",
    description: `Slipway ${$app.stage} cache`,
    subnetIds: vpc.privateSubnets,
    securityGroupIds: [group.id],
    cacheUsageLimits: {
      dataStorage: { maximum: sizing.cache.maxStorageGb, unit: "GB" },
      ecpuPerSeconds: [{ maximum: sizing.cache.maxEcpuPerSecond }],
    },
    // A cache holds nothing the database does not: snapshots would be paid storage of copies.
    snapshotRetentionLimit: 0,
  });
  const endpoint = cache.endpoints.apply((endpoints) => {
    const first = endpoints[0];
    if (!first) throw new Error("the serverless cache has no endpoint");
    return first;
  });
  return {
    cache,
    securityGroup: group,
    link: new sst.Linkable("Cache", {
      properties: { host: endpoint.address, port: endpoint.port },
    }),
  };
}

export const valkey = variables.cache === "valkey" && !$dev ? serverlessValkey() : undefined;
/** Linked to the API and the worker when there is a Valkey cache; else the app uses Postgres. */
export const cacheLinks = valkey ? [valkey.link] : [];
