import { config } from "../config";
import type { ObjectStorage } from "./port";

/**
 * Picks the storage adapter from config: the only file that imports the adapters. They never
 * import it back: they import the port (./port.ts), and the local store reuses the S3 adapter's
 * presigning.
 */

let current: Promise<ObjectStorage> | undefined;

/** The process's storage: the linked bucket when deployed, else the local store. */
export function storage(): Promise<ObjectStorage> {
  current ??= (async () => {
    const settings = config().storage;
    // Loaded on first use, not to break a cycle (there is none): both adapters load the S3 SDK
    // (the local store signs with it), which added ~100-150 ms to loading the API's and the
    // worker's esbuild bundles (measured on 2 cores), and most requests and tasks never touch
    // storage.
    if (settings.kind === "s3") {
      const { createS3Storage } = await import("./s3");
      return createS3Storage({ bucket: settings.bucket });
    }
    const { createLocalStorage } = await import("./local");
    return createLocalStorage(settings);
  })();
  return current;
}

/** Tests: use this storage instead of the configured one. */
export function setStorage(value: ObjectStorage | undefined) {
  current = value ? Promise.resolve(value) : undefined;
}
