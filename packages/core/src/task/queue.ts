/** What the outbox relay needs from a queue: SQS on AWS, the local queue offline. */
export interface QueueMessage {
  id: string;
  body: string;
  /** 0..900, as SQS allows. */
  delaySeconds: number;
}

export interface TaskQueue {
  /** Sends the messages; returns those that could not be sent (they stay in the outbox). */
  send(messages: QueueMessage[]): Promise<{ failed: { id: string; reason: string }[] }>;
}

export const MAX_DELAY_SECONDS = 900;
