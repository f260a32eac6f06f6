import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { traceAwsCalls } from "../observability/aws-spans";

/**
 * SES (v2) behind the mail port; the only file that knows the SDK. Returns the id SES gave the
 * message (what its bounce, complaint and delivery events carry), so the send can be recorded.
 */
export async function sendWithSes(
  message: { to: string; subject: string; text: string; html?: string },
  sender: string,
  configSet?: string,
): Promise<{ messageId: string | null }> {
  const client = traceAwsCalls(new SESv2Client({}), "SESv2");
  const response = await client.send(
    new SendEmailCommand({
      FromEmailAddress: sender,
      Destination: { ToAddresses: [message.to] },
      ConfigurationSetName: configSet,
      Content: {
        Simple: {
          Subject: { Data: message.subject, Charset: "UTF-8" },
          Body: {
            Text: { Data: message.text, Charset: "UTF-8" },
            ...(message.html ? { Html: { Data: message.html, Charset: "UTF-8" } } : {}),
          },
        },
      },
    }),
  );
  return { messageId: response.MessageId ?? null };
}
