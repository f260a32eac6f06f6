import { variables } from "./stage";

/**
 * Linking an Email grants `ses:*` on its identity and configuration set and send on `*` (SST's
 * link). Here a link carries only what the app reads (`Resource.Email.sender`, `.configSet`);
 * what a role may do is granted explicitly (`sendPermissions`).
 */
sst.Linkable.wrap(sst.aws.Email, (email) => ({
  properties: { sender: email.sender, configSet: email.configSet },
}));

/**
 * The SES identity mail is sent from (a verified address, or a domain with its DNS records in
 * Route 53). Only when the stage asks for one: SES sandbox accounts must verify recipients too,
 * so sending is a deliberate step.
 */
export const email = variables.mailSender
  ? new sst.aws.Email("Email", { sender: variables.mailSender })
  : undefined;

/**
 * SES v2 SendEmail, from this identity only. The configuration set is named in each send
 * (ConfigurationSetName), and SES authorizes that resource too (ADR 018).
 */
export const sendPermissions: sst.aws.FunctionPermissionArgs[] = email
  ? [
      {
        actions: ["ses:SendEmail"],
        resources: [email.nodes.identity.arn, email.nodes.configurationSet.arn],
      },
    ]
  : [];
