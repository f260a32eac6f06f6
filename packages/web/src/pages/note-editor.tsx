import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { Link, useLocation } from "wouter";
import { ApiError, call } from "../api";
import { Attachments } from "../components/attachments";
import { Field, FormError } from "../components/field";
import { useApi } from "../hooks";
import { NotFound } from "./not-found";

/** Create (no id) or edit a note. Another user's note, or a deleted one, is a not-found page. */
export function NoteEditor({ id }: { id?: string }) {
  const api = useApi();
  const client = useQueryClient();
  const [, navigate] = useLocation();
  const note = useQuery({
    queryKey: ["note", id],
    enabled: !!id,
    queryFn: () => call(api.api.notes[":id"].$get({ param: { id: id ?? "" } })),
  });
  const save = useMutation({
    mutationFn: (values: { title: string; body: string }) =>
      id
        ? call(api.api.notes[":id"].$patch({ param: { id }, json: values }))
        : call(api.api.notes.$post({ json: values })),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ["notes"] });
      navigate("/");
    },
  });
  const remove = useMutation({
    mutationFn: () => call(api.api.notes[":id"].$delete({ param: { id: id ?? "" } })),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ["notes"] });
      navigate("/");
    },
  });

  if (id && note.error instanceof ApiError && note.error.status === 404) return <NotFound />;
  if (id && note.isPending) return <p role="status">Loading…</p>;
  const fields = save.error instanceof ApiError ? save.error.fields : {};
  const formError =
    save.error && !fields.title && !fields.body ? (save.error as Error).message : undefined;
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    save.mutate({ title: String(data.get("title") ?? ""), body: String(data.get("body") ?? "") });
  };
  return (
    <section aria-labelledby="editor-title">
      <h1 id="editor-title">{id ? "Edit note" : "New note"}</h1>
      <form noValidate onSubmit={onSubmit}>
        <FormError message={formError} />
        <Field
          label="Title"
          name="title"
          error={fields.title}
          defaultValue={note.data?.note.title}
          required
        />
        <Field
          label="Text"
          name="body"
          multiline
          error={fields.body}
          defaultValue={note.data?.note.body}
        />
        <div className="row">
          <button type="submit" disabled={save.isPending}>
            {save.isPending ? "Saving…" : "Save"}
          </button>
          <Link href="/">Cancel</Link>
          {id ? (
            <button
              type="button"
              className="danger"
              onClick={() => remove.mutate()}
              disabled={remove.isPending}
            >
              Delete
            </button>
          ) : null}
        </div>
      </form>
      {id ? <Attachments noteId={id} /> : null}
    </section>
  );
}
