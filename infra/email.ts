import { variables } from "./stage";

/**
 * The SES identity mail is sent from (a verified address, or a domain with its DNS records in
 * Route 53). Only when the stage asks for one: SES sandbox accounts must verify recipients too,
 * so sending is a deliberate step.
 */
export const email = variables.mailSender
  ? new sst.aws.Email("Email", { sender: variables.mailSender })
  : undefined;
