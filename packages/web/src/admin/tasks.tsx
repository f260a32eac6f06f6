import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { InferResponseType } from "hono/client";
import { useState } from "react";
import { type Api, call } from "../api";
import { FormError } from "../components/field";
import { useApi } from "../hooks";
import { ConfirmButton } from "./confirm";
import { age, type Column, errorMessage, PagedTable, usePaged, when } from "./table";

type DeadLetter = InferResponseType<
  Api["api"]["admin"]["tasks"]["dead-letters"]["$get"],
  200
>["deadLetters"][number];

/** The queue changes on its own (the worker, retries): the view follows it this often. */
const POLL_MS = 2_000;

/** Tasks: the queue's numbers, and the dead letters with what failed, to redrive or discard. */
export function Tasks() {
  const api = useApi();
  const client = useQueryClient();
  const stats = useQuery({
    queryKey: ["admin", "tasks", "stats"],
    queryFn: () => call(api.api.admin.tasks.$get()),
    refetchInterval: POLL_MS,
  });
  // The list polls too: a task that just failed its last delivery shows up without a reload.
  const deadLetters = usePaged(
    ["admin", "tasks", "dead-letters"],
    async (cursor) => {
      const page = await call(
        api.api.admin.tasks["dead-letters"].$get({ query: cursor ? { cursor } : {} }),
      );
      return { rows: page.deadLetters, nextCursor: page.nextCursor };
    },
    { refetchInterval: POLL_MS },
  );
  const [notice, setNotice] = useState("");
  const done = (message: string) => {
    setNotice(message);
    return client.invalidateQueries({ queryKey: ["admin", "tasks"] });
  };
  const name = (letter: DeadLetter) => letter.task ?? "unreadable message";
  const redriveAll = useMutation({
    mutationFn: () => call(api.api.admin.tasks.redrive.$post()),
    onSuccess: ({ moved }) =>
      done(
        moved === null
          ? "Redrive started: SQS moves the dead letters back on its own."
          : `${moved} dead letters are back on the queue.`,
      ),
  });
  const redrive = useMutation({
    mutationFn: (letter: DeadLetter) =>
      call(api.api.admin.tasks["dead-letters"][":id"].redrive.$post({ param: { id: letter.id } })),
    onSuccess: (_, letter) => done(`${name(letter)} is back on the queue.`),
  });
  const discard = useMutation({
    mutationFn: (letter: DeadLetter) =>
      call(api.api.admin.tasks["dead-letters"][":id"].$delete({ param: { id: letter.id } })),
    onSuccess: (_, letter) => done(`${name(letter)} was discarded.`),
  });
  const failed = [redriveAll, redrive, discard].find((m) => m.isError)?.error;

  const columns: Column<DeadLetter>[] = [
    {
      header: "Task",
      cell: (letter) => (
        <>
          <strong>{name(letter)}</strong>
          {letter.schedule ? <div className="muted">schedule {letter.schedule}</div> : null}
          <div className="muted">{letter.taskId ?? letter.id}</div>
        </>
      ),
    },
    {
      header: "Payload",
      cell: (letter) => <pre>{JSON.stringify(letter.payload, null, 2)}</pre>,
    },
    {
      header: "Last error",
      cell: (letter) =>
        letter.lastError ? (
          <>
            <span className="outcome-failed">{letter.lastError.message}</span>
            <div className="muted">{when(letter.lastError.at)}</div>
          </>
        ) : (
          "—"
        ),
    },
    { header: "Deliveries", numeric: true, cell: (letter) => letter.receiveCount },
    { header: "Sent", cell: (letter) => when(letter.sentAt) },
    {
      header: "Actions",
      cell: (letter) => (
        <>
          <button type="button" onClick={() => redrive.mutate(letter)} disabled={redrive.isPending}>
            Redrive
            <span className="visually-hidden">
              {" "}
              {name(letter)} {letter.id}
            </span>
          </button>
          <ConfirmButton
            label="Discard…"
            confirmLabel="Discard for good"
            target={`${name(letter)} ${letter.id}`}
            pending={discard.isPending}
            onConfirm={() => discard.mutate(letter)}
          />
        </>
      ),
    },
  ];

  const s = stats.data;
  return (
    <section aria-labelledby="admin-tasks-title">
      <h1 id="admin-tasks-title">Tasks</h1>
      <FormError message={stats.error ? errorMessage(stats.error) : undefined} />
      {s ? (
        <dl className="stats">
          <div>
            <dt>Queue</dt>
            <dd>{s.queue === "sqs" ? "SQS" : "Local"}</dd>
          </div>
          <div>
            <dt>Waiting</dt>
            <dd>{s.messages.visible}</dd>
          </div>
          <div>
            <dt>In flight</dt>
            <dd>{s.messages.inFlight}</dd>
          </div>
          <div>
            <dt>Delayed</dt>
            <dd>{s.messages.delayed}</dd>
          </div>
          <div>
            <dt>Oldest waiting</dt>
            <dd>{age(s.oldestAgeSeconds)}</dd>
          </div>
          <div>
            <dt>Dead letters</dt>
            <dd>{s.deadLetters.count ?? "—"}</dd>
          </div>
          <div>
            <dt>Oldest dead letter</dt>
            <dd>{age(s.deadLetters.oldestAgeSeconds)}</dd>
          </div>
        </dl>
      ) : (
        <p role="status">Loading…</p>
      )}
      <div className="row">
        <h2>Dead letters</h2>
        <button
          type="button"
          className="secondary"
          onClick={() => redriveAll.mutate()}
          disabled={redriveAll.isPending || deadLetters.rows.length === 0}
        >
          Redrive all
        </button>
      </div>
      <p role="status" className="notice">
        {notice}
      </p>
      <FormError message={failed ? errorMessage(failed) : undefined} />
      <PagedTable
        caption="Dead letters"
        columns={columns}
        rowKey={(letter) => letter.id}
        paged={deadLetters}
        empty="No dead letters: every task that failed has run since, or none failed."
      />
    </section>
  );
}
