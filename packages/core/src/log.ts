import { AsyncLocalStorage } from "node:async_hooks";
import { config, type LogLevel } from "./config";
import { errorFields } from "./observability/redact";

/**
 * JSON-lines logger. Context fields (request id, later task id) come from AsyncLocalStorage,
 * so a line written anywhere during a request carries its id without threading it through.
 */

type Fields = Record<string, unknown>;

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };
const storage = new AsyncLocalStorage<Fields>();

/** Runs `fn` with `fields` added to every log line written inside it. */
export function withLogContext<T>(fields: Fields, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, fn);
}

/** The fields of the current log context (the request id inside a request, the task id in a task). */
export function logContext(): Readonly<Fields> {
  return storage.getStore() ?? {};
}

function write(level: Exclude<LogLevel, "silent">, message: string, fields?: Fields) {
  if (order[level] < order[config().logLevel]) return;
  const line = {
    level,
    time: new Date().toISOString(),
    message,
    ...storage.getStore(),
    ...fields,
  };
  process.stdout.write(`${JSON.stringify(line, replaceErrors)}\n`);
}

// Errors serialise to {} by default; keep what helps debugging (the stack stays in logs only),
// without the parameters a failed query's message lists.
function replaceErrors(_key: string, value: unknown) {
  return value instanceof Error ? errorFields(value) : value;
}

export const log = {
  debug: (message: string, fields?: Fields) => write("debug", message, fields),
  info: (message: string, fields?: Fields) => write("info", message, fields),
  warn: (message: string, fields?: Fields) => write("warn", message, fields),
  error: (message: string, fields?: Fields) => write("error", message, fields),
};
