import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type ChangeEvent, useId, useState } from "react";
import { ApiError, call } from "../api";
import { useApi } from "../hooks";
import { formatBytes, uploadFile } from "../upload";

/** While an attachment is being checked, the list refreshes this often. */
const POLL_MS = 1000;
/** An unfinished attachment older than this was abandoned: stop polling for it. */
const POLL_FOR_MS = 10 * 60_000;

/**
 * A note's files: upload (straight to storage through the presigned form, with a progress bar),
 * the check's status until ready or rejected, download, delete.
 */
export function Attachments({ noteId }: { noteId: string }) {
  const api = useApi();
  const client = useQueryClient();
  const inputId = useId();
  const errorId = `${inputId}-error`;
  const [progress, setProgress] = useState<{ name: string; loaded: number; total: number }>();
  const [error, setError] = useState<string>();

  const list = useQuery({
    queryKey: ["attachments", noteId],
    queryFn: () => call(api.api.notes[":id"].attachments.$get({ param: { id: noteId } })),
    refetchInterval: (query) =>
      query.state.data?.attachments.some(
        (a) =>
          (a.status === "pending" || a.status === "uploaded") &&
          Date.now() - Date.parse(a.createdAt) < POLL_FOR_MS,
      )
        ? POLL_MS
        : false,
  });
  const refresh = () => client.invalidateQueries({ queryKey: ["attachments", noteId] });

  const upload = useMutation({
    mutationFn: async (file: File) => {
      const { attachment, upload: form } = await call(
        api.api.notes[":id"].attachments.$post({
          param: { id: noteId },
          json: {
            filename: file.name,
            contentType: file.type || "application/octet-stream",
            size: file.size,
          },
        }),
      );
      try {
        setProgress({ name: file.name, loaded: 0, total: file.size });
        await uploadFile(form, file, (loaded, total) =>
          setProgress({ name: file.name, loaded, total }),
        );
        await call(api.api.attachments[":id"].complete.$post({ param: { id: attachment.id } }));
      } catch (failure) {
        // Leave no half-made attachment behind: it would count against the note's limit.
        await call(api.api.attachments[":id"].$delete({ param: { id: attachment.id } })).catch(
          () => {},
        );
        throw failure;
      }
    },
    onMutate: () => setError(undefined),
    onError: (failure, file) => setError(uploadProblem(failure, file)),
    // The list refreshes in the background: the input is usable again at once.
    onSettled: () => {
      setProgress(undefined);
      void refresh();
    },
  });

  const remove = useMutation({
    mutationFn: (id: string) => call(api.api.attachments[":id"].$delete({ param: { id } })),
    onMutate: () => setError(undefined),
    onError: (failure) => setError(`Could not remove the file: ${failure.message}`),
    onSettled: refresh,
  });

  const download = useMutation({
    mutationFn: async (id: string) => {
      const { download: link } = await call(api.api.attachments[":id"].$get({ param: { id } }));
      if (!link) throw new Error("the file is not ready");
      // The link answers with `Content-Disposition: attachment`: the browser saves, the page stays.
      window.location.assign(link.url);
    },
    onMutate: () => setError(undefined),
    onError: (failure) => setError(`Could not download the file: ${failure.message}`),
  });

  const onFile = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.currentTarget.files?.[0];
    // Cleared at once, so picking the same file again (after an error) is a change too.
    event.currentTarget.value = "";
    if (file) upload.mutate(file);
  };

  const attachments = list.data?.attachments ?? [];
  return (
    <section aria-labelledby={`${inputId}-title`} className="attachments">
      <h2 id={`${inputId}-title`}>Attachments</h2>
      {attachments.length === 0 && list.isSuccess ? <p>No files yet.</p> : null}
      <ul>
        {attachments.map((a) => (
          <li key={a.id}>
            <span className="filename">{a.filename}</span>{" "}
            <span className="muted">{formatBytes(a.size)}</span>{" "}
            <span role="status">
              {a.status === "pending"
                ? "Uploading…"
                : a.status === "uploaded"
                  ? "Checking…"
                  : a.status === "ready"
                    ? "Ready"
                    : `Rejected: ${a.rejectReason ?? "the file did not pass the check"}`}
            </span>
            {a.status === "ready" ? (
              <button type="button" onClick={() => download.mutate(a.id)}>
                Download <span className="visually-hidden">{a.filename}</span>
              </button>
            ) : null}
            <button
              type="button"
              className="danger"
              onClick={() => remove.mutate(a.id)}
              disabled={remove.isPending}
            >
              Remove <span className="visually-hidden">{a.filename}</span>
            </button>
          </li>
        ))}
      </ul>
      <div className="field">
        <label htmlFor={inputId}>Attach a file</label>
        <input
          id={inputId}
          type="file"
          onChange={onFile}
          disabled={upload.isPending}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
        />
        {progress ? (
          <div className="upload-progress">
            <label htmlFor={`${inputId}-progress`}>Uploading {progress.name}</label>
            <progress
              id={`${inputId}-progress`}
              max={progress.total || 1}
              value={progress.loaded}
            />
            <span aria-hidden="true">
              {Math.round((100 * progress.loaded) / (progress.total || 1))}%
            </span>
          </div>
        ) : null}
        {error ? (
          <p id={errorId} className="error" role="alert">
            {error}
          </p>
        ) : null}
      </div>
    </section>
  );
}

/**
 * What went wrong with an upload, in words for the person who chose the file: from the values the
 * API's issues carry (the limit, the accepted types) and the file itself, not from its English.
 */
function uploadProblem(failure: Error, file: File): string {
  const issues = failure instanceof ApiError ? (failure.details?.issues ?? []) : [];
  const size = issues.find((issue) => issue.path === "size");
  if (size && "limitBytes" in size && typeof size.limitBytes === "number") {
    return `This file is too large: must be at most ${formatBytes(size.limitBytes)}`;
  }
  if (size && file.size === 0) return "This file is empty";
  if (size) return `This file cannot be attached: its size ${size.message}`;
  const type = issues.find((issue) => issue.path === "contentType");
  if (type && "allowed" in type && Array.isArray(type.allowed)) {
    return `This type of file is not accepted: must be one of ${type.allowed.join(", ")}`;
  }
  if (type) return `This type of file is not accepted: ${type.message}`;
  return failure.message;
}
