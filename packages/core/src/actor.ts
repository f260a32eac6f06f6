import { AsyncLocalStorage } from "node:async_hooks";
import { AppError } from "./error";

/**
 * Who is acting: set once per request by the session middleware (or by a task for its user),
 * read by domain functions, so ownership checks never depend on a route passing an id along.
 */
export type Actor = { type: "user"; userID: string } | { type: "public" };

const storage = new AsyncLocalStorage<Actor>();

export function withActor<T>(actor: Actor, fn: () => T): T {
  return storage.run(actor, fn);
}

// One object for every anonymous call, not one per call: nothing may change it.
const PUBLIC: Actor = Object.freeze({ type: "public" });

export function useActor(): Actor {
  return storage.getStore() ?? PUBLIC;
}

/** The signed-in user's id, or a 401. */
export function useUserID(): string {
  const actor = useActor();
  if (actor.type !== "user") throw new AppError("unauthorized", "Sign in first");
  return actor.userID;
}
