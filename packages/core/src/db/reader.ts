import { AsyncLocalStorage } from "node:async_hooks";
import { readerApart } from "./client";

/**
 * Reads that tolerate lag go to the read replica; everything else to the primary (ADR 034).
 *
 * - A read site is a named place in a domain function (`note.list`), declared once in the app's
 *   list (src/read-sites.ts) as `reader: true` (the replica may serve it) or `reader: false` (a
 *   read that must see the latest commit: the session lookup). Code that is not in a site is
 *   taken to write, whatever it does.
 * - A request never reads behind its own writes: the first database call of a request outside a
 *   read site pins the rest of that request to the primary. Reads inside an open transaction run
 *   in it (they must see its writes); tasks, schedules and scripts, which run outside a request,
 *   always use the primary.
 * - Offline the reader is the primary through a second, read-only connection (db/client.ts), so
 *   the sites' code path runs and a write routed there fails (SQLSTATE 25006) as on a replica.
 */

export interface ReadSite {
  /** The replica may serve it: the read tolerates a commit of the last seconds not being there. */
  reader: boolean;
  /** Why, for the reviewer of the list. */
  why: string;
}

interface Route {
  site: string;
  reader: boolean;
}

interface Scope {
  /** The request touched the primary outside a read site: from now on it reads the primary. */
  pinned: boolean;
}

const routes = new AsyncLocalStorage<Route>();
const scopes = new AsyncLocalStorage<Scope>();

/**
 * The app's read sites, and `atSite(name, fn)`, which runs `fn`'s database calls as that site.
 * A name not in the list is a type error, and an error at run time for a caller without types.
 */
export function defineReadSites<const Sites extends Record<string, ReadSite>>(sites: Sites) {
  const atSite = <T>(name: keyof Sites & string, fn: () => Promise<T>): Promise<T> => {
    const site = Object.hasOwn(sites, name) ? sites[name] : undefined;
    if (!site)
      return Promise.reject(
        new Error(`read site ${JSON.stringify(name)} is not in the read-site list`),
      );
    // Where the reader is the primary itself no call is routed (no request has a scope), so
    // the site's name is all that needs checking: no context to enter per read.
    if (!readerApart()) return fn();
    return routes.run({ site: name, reader: site.reader }, fn);
  };
  return { sites, atSite };
}

/**
 * Runs a request's handling in a scope of its own, so that the request's writes pin its later
 * reads to the primary. Only where the reader is a database apart from the primary (a replica,
 * or offline its read-only mirror): deployed without a replica every read is on the primary and
 * a request pays for no scope.
 */
export function withReadScope<T>(fn: () => Promise<T>): Promise<T> {
  return readerApart() ? scopes.run({ pinned: false }, fn) : fn();
}

/**
 * Whether the database call about to run (outside a transaction) goes to the reader, and the
 * bookkeeping of the pin: a call outside any read site, inside a request, pins it.
 */
export function routeToReader(): boolean {
  const scope = scopes.getStore();
  if (!scope) return false;
  const route = routes.getStore();
  if (!route) {
    scope.pinned = true;
    return false;
  }
  return route.reader && !scope.pinned;
}

/** The read site the current call runs as, if any (for logs and tests). */
export function currentReadSite(): string | undefined {
  return routes.getStore()?.site;
}
