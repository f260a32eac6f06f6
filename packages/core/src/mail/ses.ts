import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";

/** SES (v2) behind the mail port; the only file that knows the SDK. */
export async function sendWithSes(
  message: { to: string; subject: string; text: string },
  sender: string,
  configSet?: string,
) {
  const client = new SESv2Client({});
  await client.send(
    new SendEmailCommand({
      FromEmailAddress: sender,
      Destination: { ToAddresses: [message.to] },
      ConfigurationSetName: configSet,
      Content: {
        Simple: {
          Subject: { Data: message.subject, Charset: "UTF-8" },
          Body: { Text: { Data: message.text, Charset: "UTF-8" } },
        },
      },
    }),
  );
}
