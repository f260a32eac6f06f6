import { defineReadSites } from "./db/reader";

/**
 * Every read site of the app, and whether the read replica may serve it (db/reader.ts, ADR 034).
 * `reader: true` only for a read that tolerates replica lag (usually well under a second, at worst
 * as long as the replica is behind): what it shows may miss a commit of the last moments. Within
 * one request that has written, every read goes to the primary whatever this says; a function
 * that is not a site here reads (and writes) the primary.
 */
export const { sites: readSites, atSite } = defineReadSites({
  "note.list": {
    reader: true,
    why: "a page of the user's notes; one saved a moment ago in another request may show on the next load (the web app adds what it created itself)",
  },
  "note.byID": {
    reader: false,
    why: "a note opened right after it was saved must show what was saved",
  },
  "account.session": {
    reader: false,
    why: "a signed-out or disabled session must stop at once, not after the replica catches up",
  },
  "account.access": {
    reader: false,
    why: "the operator console's role check: a revoked admin loses it on the next request",
  },
  "admin.tableRows": {
    reader: true,
    why: "the operator console's table browser: a snapshot to look at, never read back to write",
  },
});
