import type { InferResponseType } from "hono/client";
import { type Api, call } from "../api";
import { useApi } from "../hooks";
import { type Column, PagedTable, usePaged, when } from "./table";

type Message = InferResponseType<Api["api"]["admin"]["mail"]["$get"], 200>["messages"][number];

/** Mail: the recent messages and how their delivery went (bodies are never shown). */
export function Mail() {
  const api = useApi();
  const messages = usePaged(["admin", "mail"], async (cursor) => {
    const page = await call(api.api.admin.mail.$get({ query: cursor ? { cursor } : {} }));
    return { rows: page.messages, nextCursor: page.nextCursor };
  });
  const columns: Column<Message>[] = [
    { header: "To", cell: (m) => m.to },
    { header: "Subject", cell: (m) => m.subject },
    {
      header: "Status",
      cell: (m) => (
        <>
          <span className={m.status === "failed" ? "outcome-failed" : undefined}>{m.status}</span>
          {m.error ? <div className="outcome-failed">{m.error}</div> : null}
        </>
      ),
    },
    { header: "Attempts", numeric: true, cell: (m) => m.attempts },
    {
      header: "Provider",
      cell: (m) =>
        m.provider ? `${m.provider}${m.providerMessageId ? ` ${m.providerMessageId}` : ""}` : "—",
    },
    { header: "Queued", cell: (m) => when(m.createdAt) },
    { header: "Updated", cell: (m) => when(m.updatedAt) },
  ];
  return (
    <section aria-labelledby="admin-mail-title">
      <h1 id="admin-mail-title">Mail</h1>
      <PagedTable
        caption="Recent mail, newest first"
        columns={columns}
        rowKey={(m) => m.id}
        paged={messages}
        empty="No mail has been sent yet."
      />
    </section>
  );
}
