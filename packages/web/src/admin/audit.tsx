import type { InferResponseType } from "hono/client";
import { type Api, call } from "../api";
import { useApi } from "../hooks";
import { type Column, PagedTable, usePaged, when } from "./table";

type Entry = InferResponseType<Api["api"]["admin"]["audit"]["$get"], 200>["entries"][number];

/** The audit log: every operator action, newest first. Read-only: nothing here changes it. */
export function AuditLog() {
  const api = useApi();
  const entries = usePaged(["admin", "audit"], async (cursor) => {
    const page = await call(api.api.admin.audit.$get({ query: cursor ? { cursor } : {} }));
    return { rows: page.entries, nextCursor: page.nextCursor };
  });
  const columns: Column<Entry>[] = [
    { header: "When", cell: (e) => <time dateTime={e.at}>{when(e.at)}</time> },
    { header: "Who", cell: (e) => e.actor },
    { header: "Action", cell: (e) => <code>{e.action}</code> },
    { header: "Target", cell: (e) => e.target ?? "—" },
    {
      header: "Details",
      cell: (e) =>
        Object.keys(e.details).length > 0 ? <pre>{JSON.stringify(e.details, null, 2)}</pre> : "—",
    },
    { header: "Request", cell: (e) => e.requestId ?? "—" },
  ];
  return (
    <section aria-labelledby="admin-audit-title">
      <h1 id="admin-audit-title">Audit log</h1>
      <PagedTable
        caption="Operator actions, newest first"
        columns={columns}
        rowKey={(e) => e.id}
        paged={entries}
        empty="No operator action yet."
      />
    </section>
  );
}
