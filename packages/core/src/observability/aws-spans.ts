import { recording, recordSpan, traceClock } from "./trace";

/** The part of an AWS SDK v3 client this needs: its middleware stack. */
interface TracedClient {
  middlewareStack: {
    add(
      // biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware types are per client
      middleware: (next: (args: any) => Promise<any>, context: { commandName?: string }) => any,
      options: { step: "deserialize"; name: string },
    ): void;
  };
}

/**
 * A span per AWS call (`S3.PutObject`, `SQS.SendMessageBatch`, `SESv2.SendEmail`) when the current
 * trace is recorded (ADR 029): one middleware on the client, so every command is covered. At the
 * deserialize step, around the HTTP exchange: a presigned URL (which never sends) makes none.
 * Unrecorded, one AsyncLocalStorage read per call.
 */
export function traceAwsCalls<Client extends TracedClient>(
  client: Client,
  service: string,
): Client {
  client.middlewareStack.add(
    (next, context) => async (args: unknown) => {
      const trace = recording();
      if (!trace) return next(args);
      const start = traceClock();
      const name = `${service}.${(context.commandName ?? "call").replace(/Command$/, "")}`;
      let ok = false;
      try {
        const result = await next(args);
        ok = true;
        return result;
      } finally {
        recordSpan(trace, `aws.${service.toLowerCase()}`, name, start, ok);
      }
    },
    { step: "deserialize", name: "slipwayTraceSpan" },
  );
  return client;
}
