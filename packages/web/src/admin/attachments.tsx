import type { InferResponseType } from "hono/client";
import { useState } from "react";
import { type Api, call } from "../api";
import { useApi } from "../hooks";
import { formatBytes } from "../upload";
import { type Column, Filters, PagedTable, usePaged, when } from "./table";

type Attachment = InferResponseType<
  Api["api"]["admin"]["attachments"]["$get"],
  200
>["attachments"][number];
type Status = Attachment["status"];

const STATUSES = [
  { value: "", label: "Any" },
  { value: "pending", label: "Pending upload" },
  { value: "uploaded", label: "Being checked" },
  { value: "ready", label: "Ready" },
  { value: "rejected", label: "Rejected" },
] as const;

/** Attachments: the recent uploads, filtered by status; a rejected one says why. */
export function Attachments() {
  const api = useApi();
  const [filters, setFilters] = useState<Record<string, string>>({});
  const status = filters.status as Status | undefined;
  const attachments = usePaged(["admin", "attachments", status ?? null], async (cursor) => {
    const page = await call(
      api.api.admin.attachments.$get({
        query: { ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) },
      }),
    );
    return { rows: page.attachments, nextCursor: page.nextCursor };
  });
  const columns: Column<Attachment>[] = [
    {
      header: "File",
      cell: (a) => (
        <>
          <strong>{a.filename}</strong>
          <div className="muted">{a.id}</div>
        </>
      ),
    },
    { header: "Type", cell: (a) => a.contentType },
    { header: "Size", numeric: true, cell: (a) => formatBytes(a.size) },
    {
      header: "Status",
      cell: (a) => (
        <>
          <span className={a.status === "rejected" ? "outcome-failed" : undefined}>{a.status}</span>
          {a.rejectReason ? <div className="outcome-failed">{a.rejectReason}</div> : null}
        </>
      ),
    },
    {
      header: "Note and owner",
      cell: (a) => (
        <>
          <div>{a.noteId}</div>
          <div className="muted">{a.userId}</div>
        </>
      ),
    },
    { header: "Created", cell: (a) => when(a.createdAt) },
    { header: "Checked", cell: (a) => when(a.processedAt) },
  ];
  return (
    <section aria-labelledby="admin-attachments-title">
      <h1 id="admin-attachments-title">Attachments</h1>
      <Filters
        label="Filter attachments"
        fields={[{ name: "status", label: "Status", options: STATUSES }]}
        values={filters}
        onChange={setFilters}
      />
      <PagedTable
        caption="Recent attachments, newest first"
        columns={columns}
        rowKey={(a) => a.id}
        paged={attachments}
        empty={status ? "No attachments with this status." : "No files have been attached yet."}
      />
    </section>
  );
}
