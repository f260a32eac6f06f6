import { variables } from "./stage";

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

/**
 * The NAT instances' role: none of AWS's APIs. fck-nat needs none (SST associates the Elastic
 * IPs), and `sst tunnel` uses SSH; SST's default role carries AmazonSSMManagedInstanceCore,
 * which reads every SSM parameter of the account (the API's DATABASE_URL among them) from an
 * instance with a public IP.
 */
const natRole = new aws.iam.Role("NatInstanceRole", {
  assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "ec2.amazonaws.com" }),
});

/**
 * Two AZs, private subnets for everything that holds data or runs code, and fck-nat EC2 instances
 * (t4g.nano, ~$3/month each + public IPv4) instead of managed NAT gateways (~$33/month each).
 */
export const vpc = new sst.aws.Vpc("Vpc", {
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

// Free gateway endpoint: S3 traffic from private subnets (uploads processing, image layers) skips the NAT.
export const s3Endpoint = new aws.ec2.VpcEndpoint("S3Endpoint", {
  vpcId: vpc.id,
  serviceName: $interpolate`com.amazonaws.${aws.getRegionOutput().region}.s3`,
  vpcEndpointType: "Gateway",
  routeTableIds: vpc.nodes.privateRouteTables.apply((tables) => tables.map((table) => table.id)),
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
  database: group("DatabaseSecurityGroup", "Slipway Postgres: the API, worker and migrator only"),
};

const toGroup = (
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
toGroup("ApiToDatabase", securityGroups.api, securityGroups.database, POSTGRES_PORT);
toGroup("WorkerToDatabase", securityGroups.worker, securityGroups.database, POSTGRES_PORT);
toGroup("MigratorToDatabase", securityGroups.migrator, securityGroups.database, POSTGRES_PORT);

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
