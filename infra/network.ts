import { variables } from "./stage";

// SST's Vpc always uses this range.
const VPC_CIDR = "10.0.0.0/16";

/**
 * Two AZs, private subnets for everything that holds data or runs code, and fck-nat EC2 instances
 * (t4g.nano, ~$3/month each + public IPv4) instead of managed NAT gateways (~$33/month each).
 */
export const vpc = new sst.aws.Vpc("Vpc", {
  az: 2,
  nat: "ec2",
  bastion: variables.bastion,
  transform: {
    // SST opens the NAT instances (which have public IPs) to the internet on every port. They only
    // forward traffic from inside the VPC; SSH from outside only when they serve as the bastion.
    natSecurityGroup: (args) => {
      args.ingress = [
        { protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: [VPC_CIDR] },
        ...(variables.bastion
          ? [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }]
          : []),
      ];
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
