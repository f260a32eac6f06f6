export * as Limit from "./limit";
// The write-rate middleware is the API's (api.ts imports ./write-rate): kept out of this index so
// the worker, which reaches Limit through it, does not bundle the cache port's Valkey client.
