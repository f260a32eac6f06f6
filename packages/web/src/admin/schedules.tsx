import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { InferResponseType } from "hono/client";
import { useState } from "react";
import { type Api, call } from "../api";
import { FormError } from "../components/field";
import { useApi } from "../hooks";
import { type Column, errorMessage, PagedTable, when } from "./table";

type Schedule = InferResponseType<
  Api["api"]["admin"]["schedules"]["$get"],
  200
>["schedules"][number];

/** Schedules: when each fires next (in its time zone), how its last run went, and "Run now". */
export function Schedules() {
  const api = useApi();
  const client = useQueryClient();
  const schedules = useQuery({
    queryKey: ["admin", "schedules"],
    queryFn: () => call(api.api.admin.schedules.$get()),
    refetchInterval: 5_000,
  });
  const [notice, setNotice] = useState("");
  const run = useMutation({
    mutationFn: (schedule: Schedule) =>
      call(api.api.admin.schedules[":name"].run.$post({ param: { name: schedule.name } })),
    onSuccess: ({ id }, schedule) => {
      setNotice(`${schedule.name} is queued to run now (task ${id}).`);
      return client.invalidateQueries({ queryKey: ["admin", "schedules"] });
    },
  });
  const columns: Column<Schedule>[] = [
    {
      header: "Schedule",
      cell: (s) => (
        <>
          <strong>{s.name}</strong>
          {s.description ? <div className="muted">{s.description}</div> : null}
          <div className="muted">runs {s.task}</div>
        </>
      ),
    },
    { header: "Expression", cell: (s) => <code>{s.expression}</code> },
    { header: "Time zone", cell: (s) => s.timezone },
    {
      header: "Next runs",
      cell: (s) => (
        <ol className="plain">
          {s.next.map((at) => (
            <li key={at}>
              <time dateTime={at}>{when(at)}</time>
            </li>
          ))}
        </ol>
      ),
    },
    {
      header: "Last run",
      cell: (s) =>
        s.lastRun ? (
          <>
            <span className={`outcome-${s.lastRun.outcome}`}>{s.lastRun.outcome}</span>{" "}
            {when(s.lastRun.startedAt)}
            {s.lastRun.error ? <div className="outcome-failed">{s.lastRun.error}</div> : null}
          </>
        ) : (
          "Never"
        ),
    },
    {
      header: "Actions",
      cell: (s) => (
        <button type="button" onClick={() => run.mutate(s)} disabled={run.isPending}>
          Run now<span className="visually-hidden"> {s.name}</span>
        </button>
      ),
    },
  ];
  const rows = schedules.data?.schedules ?? [];
  return (
    <section aria-labelledby="admin-schedules-title">
      <h1 id="admin-schedules-title">Schedules</h1>
      <p role="status" className="notice">
        {notice}
      </p>
      <FormError message={run.error ? errorMessage(run.error) : undefined} />
      <PagedTable
        caption="Schedules"
        columns={columns}
        rowKey={(s) => s.name}
        paged={{ query: schedules, rows, page: 1 }}
        empty="The app has no schedules."
      />
    </section>
  );
}
