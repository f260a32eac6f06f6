import type * as pulumi from "@pulumi/pulumi";
import type { ResourceLog } from "./resources";

type Pulumi = typeof pulumi;

/**
 * Pulumi's mock runtime in place of a deployment engine and the AWS API: every resource is
 * "created" with outputs derived from its name, every data source answers for one account in
 * us-east-1. Only what SST's components read back needs a realistic shape.
 *
 * The account also holds one deployed base stage (`staging`, as `sst deploy --stage staging` of
 * this app leaves it: a VPC with two private and two public subnets, two fck-nat instances with
 * an Elastic IP each, SST's Cloud Map zone, the RDS instance and its security group), so a
 * preview stage's lookups (`Vpc.get`, `Postgres.get`, the data sources infra/ queries) find what
 * they would. A lookup or a read (`Resource.get`) nobody taught these mocks fails the evaluation,
 * naming it: an answer made up from the question's own inputs would let a broken lookup pass.
 */

/** A created resource's outputs: its inputs, `<name>-id`, an ARN, and the outputs SST reads. */
function mockState(type: string, name: string, inputs: Record<string, unknown>) {
  const id = `${name}-id`;
  const arn = `arn:aws:${type.split(":")[1]?.split("/")[0] ?? "mock"}:us-east-1:123456789012:${name}`;
  const extra: Record<string, unknown> = {};
  if (type === "aws:rds/instance:Instance") {
    Object.assign(extra, {
      address: `${name}.mock.rds.amazonaws.com`,
      endpoint: `${name}.mock.rds.amazonaws.com:5432`,
      port: 5432,
    });
  }
  // Aurora (SLIPWAY_DATABASE=aurora-serverless): the cluster's endpoints, its instances' port.
  if (type === "aws:rds/cluster:Cluster")
    Object.assign(extra, {
      clusterIdentifier: inputs.clusterIdentifier ?? name.toLowerCase(),
      endpoint: `${name}.cluster-mock.rds.amazonaws.com`,
      readerEndpoint: `${name}.cluster-ro-mock.rds.amazonaws.com`,
      port: 5432,
    });
  if (type === "aws:rds/clusterInstance:ClusterInstance")
    Object.assign(extra, {
      identifier: inputs.identifier ?? name.toLowerCase(),
      endpoint: `${name}.mock.rds.amazonaws.com`,
      port: 5432,
    });
  // RDS Proxy (SLIPWAY_DB_PROXY=true).
  if (type === "aws:rds/proxy:Proxy")
    Object.assign(extra, { endpoint: `${name}.proxy-mock.rds.amazonaws.com` });
  // SLIPWAY_CACHE=valkey (infra/cache.ts links the endpoint AWS gives it).
  if (type === "aws:elasticache/serverlessCache:ServerlessCache") {
    Object.assign(extra, {
      endpoints: [{ address: `${name}.mock.serverless.use1.cache.amazonaws.com`, port: 6379 }],
    });
  }
  // A generated secret the checks can look for where it must not be: `mock-secret-<name>`.
  if (type === "random:index/randomPassword:RandomPassword")
    Object.assign(extra, { result: `mock-secret-${name}` });
  if (type === "aws:ssm/parameter:Parameter") Object.assign(extra, { version: 1 });
  if (type === "aws:sqs/queue:Queue")
    Object.assign(extra, { url: `https://sqs.us-east-1.amazonaws.com/123456789012/${name}` });
  // A custom domain (SLIPWAY_DOMAIN): one DNS validation record per name on the certificate.
  if (type === "aws:acm/certificate:Certificate") {
    const names = [inputs.domainName, ...((inputs.subjectAlternativeNames as unknown[]) ?? [])];
    Object.assign(extra, {
      domainValidationOptions: names.map((domainName) => ({
        domainName,
        resourceRecordName: `_mock.${domainName}.`,
        resourceRecordType: "CNAME",
        resourceRecordValue: "_mock.acm-validations.aws.",
      })),
    });
  }
  if (type === "aws:apigatewayv2/api:Api")
    Object.assign(extra, { apiEndpoint: `https://${id}.execute-api.us-east-1.amazonaws.com` });
  if (type === "aws:cloudfront/distribution:Distribution")
    Object.assign(extra, { domainName: `${id}.cloudfront.net` });
  if (type === "aws:s3/bucket:Bucket" || type === "aws:s3/bucketV2:BucketV2")
    Object.assign(extra, { bucketRegionalDomainName: `${id}.s3.us-east-1.amazonaws.com` });
  return { id, state: { arn, name: inputs.name ?? name, id, ...inputs, ...extra } };
}

/** The base stage's resources in the mock account (ids as AWS would show them). */
const BASE_STAGE = "staging";
const base = {
  vpc: "vpc-0base",
  internetGateway: "igw-0base",
  defaultGroup: "sg-0basedefault",
  natGroup: "sg-0basenat",
  databaseGroup: "sg-0basedatabase",
  privateSubnets: ["subnet-0baseprivate1", "subnet-0baseprivate2"],
  publicSubnets: ["subnet-0basepublic1", "subnet-0basepublic2"],
  natInstances: ["i-0basenat1", "i-0basenat2"],
  elasticIps: ["eipalloc-0base1", "eipalloc-0base2"],
  namespace: "ns-base1",
  database: "databaseinstance-base",
  databaseSecret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:DatabaseProxySecret-base",
  /** The master password the secret holds: a check can look for it where it must not be. */
  masterPassword: "mock-secret-BaseDatabasePassword",
};
const routeTableOf = (subnet: string) => subnet.replace("subnet-", "rtb-");

type Filters = { name: string; values: string[] }[] | undefined;
const filter = (filters: Filters, name: string) => filters?.find((f) => f.name === name)?.values;

/** Fails the evaluation: a question the mock account has no answer for. */
function unknown(what: string, args: unknown): never {
  throw new Error(
    `mocks: no answer for ${what} ${JSON.stringify(args)} (scripts/infra/worker/mocks.ts knows the base stage ${BASE_STAGE} only)`,
  );
}

/** A lookup's tags must name this app's base stage. */
function baseTagged(tags: Record<string, string> | undefined, project: string): boolean {
  return tags?.["sst:app"] === project && tags?.["sst:stage"] === BASE_STAGE;
}

/** Lookups of the base stage's resources (`sst.aws.Vpc.get`, `Postgres.get`, infra/'s own). */
function baseLookup(args: pulumi.runtime.MockCallArgs, project: string): Record<string, unknown> {
  const inputs = args.inputs as {
    filters?: Filters;
    tags?: Record<string, string>;
    vpcId?: string;
    subnetId?: string;
    secretId?: string;
    name?: string;
  };
  const vpcFilter = filter(inputs.filters, "vpc-id")?.[0] ?? inputs.vpcId;
  if (vpcFilter !== undefined && vpcFilter !== base.vpc) unknown(args.token, inputs);
  switch (args.token) {
    case "aws:ec2/getVpcs:getVpcs": {
      const found =
        baseTagged(inputs.tags, project) &&
        inputs.tags?.Name === `${project}-${BASE_STAGE}-Vpc VPC`;
      return { ids: found ? [base.vpc] : [], id: "us-east-1" };
    }
    case "aws:ec2/getInternetGateway:getInternetGateway":
      return { internetGatewayId: base.internetGateway, id: base.internetGateway };
    case "aws:ec2/getSecurityGroups:getSecurityGroups": {
      const name = filter(inputs.filters, "group-name")?.[0];
      if (name === "default") return { ids: [base.defaultGroup], id: "us-east-1" };
      if (filter(inputs.filters, "tag:sst:is-nat-sg"))
        return { ids: [base.natGroup], id: "us-east-1" };
      // The base has no bastion.
      if (filter(inputs.filters, "tag:sst:is-bastion-sg")) return { ids: [], id: "us-east-1" };
      return unknown(args.token, inputs);
    }
    case "aws:ec2/getSecurityGroup:getSecurityGroup": {
      const name = filter(inputs.filters, "group-name")?.[0];
      if (name === "DatabaseSecurityGroup-*" && baseTagged(inputs.tags, project))
        return {
          id: base.databaseGroup,
          arn: `arn:aws:ec2:us-east-1:123456789012:security-group/${base.databaseGroup}`,
          vpcId: base.vpc,
        };
      return unknown(args.token, inputs);
    }
    case "aws:ec2/getSubnets:getSubnets": {
      const name = filter(inputs.filters, "tag:Name")?.[0];
      if (name === "*Private*") return { ids: base.privateSubnets, id: "us-east-1" };
      if (name === "*Public*") return { ids: base.publicSubnets, id: "us-east-1" };
      return unknown(args.token, inputs);
    }
    case "aws:ec2/getRouteTable:getRouteTable": {
      const subnet = inputs.subnetId ?? "";
      if (![...base.privateSubnets, ...base.publicSubnets].includes(subnet))
        return unknown(args.token, inputs);
      return { routeTableId: routeTableOf(subnet), id: routeTableOf(subnet), vpcId: base.vpc };
    }
    case "aws:ec2/getNatGateways:getNatGateways":
      // fck-nat instances, no managed NAT gateway.
      return { ids: [], id: "us-east-1" };
    case "aws:ec2/getInstances:getInstances": {
      if (filter(inputs.filters, "tag:sst:is-nat"))
        return { ids: base.natInstances, id: "us-east-1" };
      if (filter(inputs.filters, "tag:sst:is-bastion")) return { ids: [], id: "us-east-1" };
      return unknown(args.token, inputs);
    }
    case "aws:ec2/getEips:getEips": {
      const instances = filter(inputs.filters, "instance-id") ?? [];
      if (instances.join() !== base.natInstances.join()) return unknown(args.token, inputs);
      return {
        allocationIds: base.elasticIps,
        publicIps: ["198.51.100.1", "198.51.100.2"],
        id: "us-east-1",
      };
    }
    case "aws:rds/getInstances:getInstances":
      return {
        instanceIdentifiers: baseTagged(inputs.tags, project) ? [base.database] : [],
        instanceArns: [],
        id: "us-east-1",
      };
    case "aws:secretsmanager/getSecretVersion:getSecretVersion":
      if (inputs.secretId !== base.databaseSecret) return unknown(args.token, inputs);
      return {
        id: base.databaseSecret,
        arn: base.databaseSecret,
        secretString: JSON.stringify({ username: "postgres", password: base.masterPassword }),
      };
    default:
      return unknown(args.token, inputs);
  }
}

/** What `Resource.get` reads: the base stage's resources, and the NAT role this stage creates. */
function mockRead(args: pulumi.runtime.MockResourceArgs): {
  id: string;
  state: Record<string, unknown>;
} {
  const id = args.id as string;
  const arn = `arn:aws:${args.type.split(":")[1]?.split("/")[0] ?? "mock"}:us-east-1:123456789012:${id}`;
  const state = (extra: Record<string, unknown>) => ({ id, state: { id, arn, ...extra } });
  const baseTags = { "sst:app": "slipway", "sst:stage": BASE_STAGE };
  switch (args.type) {
    // SST's Vpc (nat.ec2.role) reads the NAT role infra/network.ts creates, by its name.
    case "aws:iam/role:Role":
      if (id === "NatInstanceRole") return state({ name: id });
      break;
    case "aws:ec2/vpc:Vpc":
      // The versions SST 4.17.1 writes on a VPC it creates (vpc.ts: _version, _refVersion).
      if (id === base.vpc)
        return state({
          cidrBlock: "10.0.0.0/16",
          tagsAll: { ...baseTags, "sst:component-version": "2", "sst:ref-version": "2" },
        });
      break;
    case "aws:ec2/internetGateway:InternetGateway":
      if (id === base.internetGateway) return state({ vpcId: base.vpc });
      break;
    case "aws:ec2/securityGroup:SecurityGroup":
      if ([base.defaultGroup, base.natGroup, base.databaseGroup].includes(id))
        return state({ vpcId: base.vpc, tagsAll: baseTags });
      break;
    case "aws:ec2/subnet:Subnet":
      if (base.privateSubnets.includes(id) || base.publicSubnets.includes(id))
        return state({ vpcId: base.vpc, mapPublicIpOnLaunch: base.publicSubnets.includes(id) });
      break;
    case "aws:ec2/routeTable:RouteTable":
      if ([...base.privateSubnets, ...base.publicSubnets].map(routeTableOf).includes(id))
        return state({ vpcId: base.vpc });
      break;
    case "aws:ec2/instance:Instance":
      if (base.natInstances.includes(id))
        return state({ instanceType: "t4g.nano", tagsAll: { ...baseTags, "sst:is-nat": "true" } });
      break;
    case "aws:ec2/eip:Eip":
      if (base.elasticIps.includes(id)) return state({ allocationId: id, domain: "vpc" });
      break;
    case "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace":
      if (id === base.namespace)
        return state({ name: "sst", hostedZone: "Z0BASESST", vpc: base.vpc });
      break;
    case "aws:rds/instance:Instance":
      if (id === base.database)
        return state({
          identifier: id,
          address: `${id}.mock.rds.amazonaws.com`,
          endpoint: `${id}.mock.rds.amazonaws.com:5432`,
          port: 5432,
          username: "postgres",
          dbName: "slipway",
          engine: "postgres",
          instanceClass: "db.t4g.micro",
          vpcSecurityGroupIds: [base.databaseGroup],
          tagsAll: {
            ...baseTags,
            "sst:component-version": "2",
            "sst:lookup:password": base.databaseSecret,
          },
        });
      break;
  }
  return unknown(`a read of ${args.type} ${args.name}`, { id });
}

/** A data source's (invoke's) result. */
function mockCall(
  args: pulumi.runtime.MockCallArgs,
  project: string,
  ssmParameters: Record<string, string>,
): Record<string, unknown> {
  switch (args.token) {
    case "aws:ssm/getParametersByPath:getParametersByPath": {
      // As SSM answers without `recursive`: the parameters directly under the path.
      const prefix = `${String(args.inputs.path).replace(/\/$/, "")}/`;
      const names = Object.keys(ssmParameters).filter(
        (name) => name.startsWith(prefix) && !name.slice(prefix.length).includes("/"),
      );
      return {
        id: args.inputs.path,
        path: args.inputs.path,
        names,
        values: names.map((name) => ssmParameters[name]),
        types: names.map(() => "String"),
        arns: names.map((name) => `arn:aws:ssm:us-east-1:123456789012:parameter${name}`),
      };
    }
    case "aws:index/getRegion:getRegion":
      return { name: "us-east-1", region: "us-east-1", id: "us-east-1" };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return {
        accountId: "123456789012",
        arn: "arn:aws:iam::123456789012:user/mock",
        userId: "mock",
      };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com" };
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return {
        names: ["us-east-1a", "us-east-1b", "us-east-1c"],
        zoneIds: ["use1-az1", "use1-az2", "use1-az3"],
      };
    case "aws:ec2/getAmi:getAmi":
      return { id: "ami-0mock", architecture: "arm64" };
    case "aws:iam/getPolicyDocument:getPolicyDocument": {
      // As the provider does, the statements come back too (none when empty): SST gives its
      // Function and Service roles an inline policy only if there are any.
      const statements = args.inputs.statements ?? [];
      const json = JSON.stringify({ Version: "2012-10-17", Statement: statements });
      return {
        id: "mock",
        json,
        minifiedJson: json,
        statements: statements.length > 0 ? statements : undefined,
      };
    }
    case "aws:route53/getZone:getZone":
      // SST's Vpc.get finds its Cloud Map namespace through the zone's description.
      if (args.inputs.privateZone && args.inputs.name === "sst") {
        if (args.inputs.vpcId !== base.vpc) return unknown(args.token, args.inputs);
        return {
          id: "Z0BASESST",
          zoneId: "Z0BASESST",
          name: "sst",
          linkedServiceDescription: `arn:aws:servicediscovery:us-east-1:123456789012:namespace/${base.namespace}`,
        };
      }
      return { id: "Z0MOCK", zoneId: "Z0MOCK", name: args.inputs.name };
    // The Service's image push (its build is mocked).
    case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
      return {
        id: "us-east-1",
        authorizationToken: "bW9jazptb2Nr",
        userName: "AWS",
        password: "mock",
        proxyEndpoint: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
      };
    default:
      return baseLookup(args, project);
  }
}

/** Installs the mocks for the app's stack; every resource's inputs go into `log`. */
export async function installMocks(
  runtime: Pulumi,
  log: ResourceLog,
  project: string,
  stack: string,
  ssmParameters: Record<string, string> = {},
): Promise<void> {
  await runtime.runtime.setMocks(
    {
      newResource(args) {
        const resource = log.entry(args.type, args.name);
        resource.inputs = args.inputs as Record<string, unknown>;
        resource.custom = args.custom ?? true;
        // `Resource.get`: another stage's (or an existing) resource, read, not this stage's.
        if (args.id) {
          const read = mockRead(args);
          resource.read = read.id;
          resource.inputs = read.state;
          return read;
        }
        return mockState(args.type, args.name, args.inputs as Record<string, unknown>);
      },
      call: (args) => mockCall(args, project, ssmParameters),
    },
    project,
    stack,
    false,
  );
  // What a component registers as its outputs (`registerOutputs`), which never reach the mocks:
  // the SST CLI reads a dev command's `_dev` (its command, environment) from them.
  const monitor = runtime.runtime.getMonitor() as unknown as {
    registerResourceOutputs(request: OutputsRequest, callback: unknown): void;
  };
  const register = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (request, callback) => {
    const urn = request.getUrn();
    const name = urn.slice(urn.lastIndexOf("::") + 2);
    const types = urn.slice(0, urn.lastIndexOf("::")).split("::").at(-1) ?? "";
    const type = types.slice(types.lastIndexOf("$") + 1);
    log.entry(type, name).outputs = request.getOutputs()?.toJavaScript() ?? {};
    register(request, callback);
  };
}

interface OutputsRequest {
  getUrn(): string;
  getOutputs(): { toJavaScript(): Record<string, unknown> } | undefined;
}
