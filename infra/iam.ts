/**
 * Trust for the roles of our Lambda functions. SST 4.17.1 gives every `sst.aws.Function` role the
 * `sst dev` trust policy, which also trusts the account root, in every stage: its
 * `assumeRolePolicy: !dev ? … : …` tests an Output, which is always truthy. Outside `sst dev`
 * (where the local process does need to assume the role) only Lambda may assume it.
 * Use as `transform: { role: lambdaOnlyTrust }`; the infra tests assert it for every role.
 */
export function lambdaOnlyTrust(args: aws.iam.RoleArgs): undefined {
  if ($dev) return;
  args.assumeRolePolicy = aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" });
}
