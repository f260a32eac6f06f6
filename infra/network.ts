import { baseStage, databaseChoice, variables } from "./stage";

// SST's Vpc always uses this range.
const VPC_CIDR = "10.0.0.0/16";

export const API_PORT = 3000;
export const POSTGRES_PORT = 5432;

// IMDSv2 only: a request to the instance metadata service must first PUT for a session token,
// which an SSRF through a forwarded GET cannot do (fck-nat's own script asks for one).
const imdsV2Only = (args: aws.ec2.InstanceArgs): undefined => {
  args.metadataOptions = {
    httpEndpoint: "enabled",
    httpTokens: "required",
    httpPutResponseHopLimit: 1,
  };
};

// SSH from the operator's network only, and only when the stage has a bastion (stage.ts refuses
// a bastion without SLIPWAY_BASTION_CIDR).
const ssh = variables.bastionCidr
  ? [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: [variables.bastionCidr] }]
  : [];

if (baseStage && variables.bastion)
  throw new Error(
    `SLIPWAY_BASTION: this stage shares the VPC of ${baseStage}; set the bastion on ${baseStage}`,
  );

/**
 * The base stage's resources, found by the tags SST puts on everything it deploys (sst:app,
 * sst:stage) and the names SST and this file give them. Deploy the base stage first: a lookup
 * that finds nothing fails the deploy, naming the base.
 */
const baseTags = baseStage ? { "sst:app": $app.name, "sst:stage": baseStage } : undefined;

function baseVpcId(): $util.Output<string> {
  return aws.ec2
    .getVpcsOutput({ tags: { ...baseTags, Name: `${$app.name}-${baseStage}-Vpc VPC` } })
    .ids.apply((ids) => {
      if (ids.length !== 1)
        throw new Error(
          `found ${ids.length} VPCs of stage ${baseStage} (SLIPWAY_BASE_STAGE): deploy ${baseStage} first`,
        );
      return ids[0] as string;
    });
}

/**
 * The NAT instances' role: none of AWS's APIs. fck-nat needs none (SST associates the Elastic
 * IPs), and `sst tunnel` uses SSH; SST's default role carries AmazonSSMManagedInstanceCore,
 * which reads every SSM parameter of the account (the API's DATABASE_URL among them) from an
 * instance with a public IP.
 */
function ownVpc() {
  const natRole = new aws.iam.Role("NatInstanceRole", {
    assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "ec2.amazonaws.com" }),
  });

  /**
   * Two AZs, private subnets for everything that holds data or runs code, and fck-nat EC2 instances
   * (t4g.nano, ~$3/month each + public IPv4) instead of managed NAT gateways (~$33/month each).
   */
  return new sst.aws.Vpc("Vpc", {
    az: 2,
    nat: { ec2: { instance: "t4g.nano", role: natRole.name } },
    bastion: variables.bastion,
    transform: {
      // SST opens the NAT instances (which have public IPs) to the internet on every port. They only
      // forward traffic from inside the VPC; SSH from outside only when they serve as the bastion.
      natSecurityGroup: (args) => {
        args.ingress = [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: [VPC_CIDR] }, ...ssh];
      },
      natInstance: imdsV2Only,
      // Only when `nat` is not "ec2" does SST launch a bastion of its own: the same rules.
      bastionInstance: imdsV2Only,
      bastionSecurityGroup: (args) => {
        args.ingress = ssh;
      },
      // The VPC's default group admits all of 10.0.0.0/16. Nothing here uses it (each role has its
      // own group below), so it admits and sends nothing: a resource left in it is cut off.
      securityGroup: (args) => {
        args.ingress = [];
        args.egress = [];
      },
    },
  });
}

/**
 * A preview stage reuses its base stage's VPC: its subnets, NAT instances, Elastic IPs and Cloud
 * Map namespace, none of them its own (ADR 026).
 */
export const vpc = baseStage ? sst.aws.Vpc.get("Vpc", baseVpcId()) : ownVpc();

// Free gateway endpoint: S3 traffic from private subnets (uploads processing, image layers) skips the NAT.
// A preview uses its base's (a route table takes one endpoint per service).
export const s3Endpoint = baseStage
  ? undefined
  : new aws.ec2.VpcEndpoint("S3Endpoint", {
      vpcId: vpc.id,
      serviceName: $interpolate`com.amazonaws.${aws.getRegionOutput().region}.s3`,
      vpcEndpointType: "Gateway",
      routeTableIds: vpc.nodes.privateRouteTables.apply((tables) =>
        tables.map((table) => table.id),
      ),
    });

/**
 * One security group per role, so the database can name who may connect. No inline rules: the
 * rules below reference each other's groups, which inline rules cannot without a cycle.
 */
const group = (name: string, description: string) =>
  new aws.ec2.SecurityGroup(name, { vpcId: vpc.id, description });

export const securityGroups = {
  /** API Gateway's VPC link: its network interfaces open connections to the API tasks. */
  gatewayLink: group("GatewayLinkSecurityGroup", "Slipway API Gateway VPC link"),
  api: group("ApiSecurityGroup", "Slipway API tasks"),
  worker: group("WorkerSecurityGroup", "Slipway task worker"),
  migrator: group("MigratorSecurityGroup", "Slipway migrator"),
  // A preview's tasks reach the base's instance: its group admits them too (rules below, removed
  // with the preview).
  database: baseStage
    ? aws.ec2.SecurityGroup.get(
        "DatabaseSecurityGroup",
        aws.ec2.getSecurityGroupOutput({
          vpcId: vpc.id,
          tags: baseTags,
          filters: [{ name: "group-name", values: ["DatabaseSecurityGroup-*"] }],
        }).id,
      )
    : group("DatabaseSecurityGroup", "Slipway Postgres: the API, worker and migrator only"),
  /** RDS Proxy (SLIPWAY_DB_PROXY): the API and the worker reach the database through it. */
  proxy: databaseChoice.proxy
    ? group("DatabaseProxySecurityGroup", "Slipway RDS Proxy: the API and worker only")
    : undefined,
};

/** `from` may open connections to `to` on `port`: an egress rule on one, an ingress rule on the other. */
export const toGroup = (
  name: string,
  from: aws.ec2.SecurityGroup,
  to: aws.ec2.SecurityGroup,
  port: number,
) => {
  new aws.vpc.SecurityGroupEgressRule(`${name}Egress`, {
    securityGroupId: from.id,
    referencedSecurityGroupId: to.id,
    ipProtocol: "tcp",
    fromPort: port,
    toPort: port,
  });
  new aws.vpc.SecurityGroupIngressRule(`${name}Ingress`, {
    securityGroupId: to.id,
    referencedSecurityGroupId: from.id,
    ipProtocol: "tcp",
    fromPort: port,
    toPort: port,
  });
};

toGroup("GatewayToApi", securityGroups.gatewayLink, securityGroups.api, API_PORT);
// With a proxy, the app's processes reach only the proxy, and the proxy the database; the
// migrator always connects directly (its session advisory lock would pin a proxy connection
// for the whole run anyway, ADR 035).
const appTarget = securityGroups.proxy ?? securityGroups.database;
const via = securityGroups.proxy ? "Proxy" : "Database";
toGroup(`ApiTo${via}`, securityGroups.api, appTarget, POSTGRES_PORT);
toGroup(`WorkerTo${via}`, securityGroups.worker, appTarget, POSTGRES_PORT);
toGroup("MigratorToDatabase", securityGroups.migrator, securityGroups.database, POSTGRES_PORT);
if (securityGroups.proxy)
  toGroup("ProxyToDatabase", securityGroups.proxy, securityGroups.database, POSTGRES_PORT);

// With a bastion, `sst tunnel` reaches the database from it (NAT instance #1, in the NAT group):
// an operator's psql or drizzle-kit studio (README, "Reaching a deployed database"). Without
// one, nothing but the three groups above reaches 5432.
if (variables.bastion && !baseStage) {
  // The NAT group is a plain value of the component's (no deploy-time unknown); with a managed
  // NAT there is none (SST's bastion is then an instance of its own, not admitted here).
  vpc.nodes.natSecurityGroup.apply((nat) => {
    if (!nat) return;
    new aws.vpc.SecurityGroupIngressRule("BastionToDatabaseIngress", {
      securityGroupId: securityGroups.database.id,
      referencedSecurityGroupId: nat.id,
      ipProtocol: "tcp",
      fromPort: POSTGRES_PORT,
      toPort: POSTGRES_PORT,
    });
  });
}

// AWS APIs (SQS, SES, S3, ECR, CloudWatch Logs) and Sentry, over HTTPS through the NAT or the S3
// endpoint. DNS to the VPC resolver is not subject to security groups.
for (const [name, from] of [
  ["Api", securityGroups.api],
  ["Worker", securityGroups.worker],
  ["Migrator", securityGroups.migrator],
] as const) {
  new aws.vpc.SecurityGroupEgressRule(`${name}HttpsEgress`, {
    securityGroupId: from.id,
    cidrIpv4: "0.0.0.0/0",
    ipProtocol: "tcp",
    fromPort: 443,
    toPort: 443,
  });
}
