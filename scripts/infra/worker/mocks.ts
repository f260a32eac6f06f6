import type * as pulumi from "@pulumi/pulumi";
import type { ResourceLog } from "./resources";

type Pulumi = typeof pulumi;

/**
 * Pulumi's mock runtime in place of a deployment engine and the AWS API: every resource is
 * "created" with outputs derived from its name, every data source answers for one account in
 * us-east-1. Only what SST's components read back needs a realistic shape.
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

/** A data source's (invoke's) result. */
function mockCall(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
  switch (args.token) {
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
      return { id: "Z0MOCK", zoneId: "Z0MOCK", name: args.inputs.name };
    default:
      return args.inputs;
  }
}

/** Installs the mocks for the app's stack; every resource's inputs go into `log`. */
export async function installMocks(
  runtime: Pulumi,
  log: ResourceLog,
  project: string,
  stack: string,
): Promise<void> {
  await runtime.runtime.setMocks(
    {
      newResource(args) {
        const resource = log.entry(args.type, args.name);
        resource.inputs = args.inputs as Record<string, unknown>;
        resource.custom = args.custom ?? true;
        return mockState(args.type, args.name, args.inputs as Record<string, unknown>);
      },
      call: mockCall,
    },
    project,
    stack,
    false,
  );
}
