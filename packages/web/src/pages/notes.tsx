import { useInfiniteQuery } from "@tanstack/react-query";
import { Link, Redirect } from "wouter";
import { call } from "../api";
import { useApi } from "../hooks";
import { useMe } from "../session";

export function Notes() {
  const me = useMe();
  const api = useApi();
  const notes = useInfiniteQuery({
    queryKey: ["notes"],
    enabled: !!me.data,
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      call(
        api.api.notes.$get({
          query: pageParam ? { cursor: pageParam, limit: "20" } : { limit: "20" },
        }),
      ),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  if (me.isPending) return <p role="status">Loading…</p>;
  if (!me.data) return <Redirect to="/login" />;
  const all = notes.data?.pages.flatMap((page) => page.notes) ?? [];
  return (
    <section aria-labelledby="notes-title">
      <div className="row">
        <h1 id="notes-title">Your notes</h1>
        <Link href="/notes/new" className="button">
          New note
        </Link>
      </div>
      {notes.isPending ? <p role="status">Loading notes…</p> : null}
      {notes.isSuccess && all.length === 0 ? <p>No notes yet. Write the first one.</p> : null}
      <ul className="notes">
        {all.map((note) => (
          <li key={note.id}>
            <Link href={`/notes/${note.id}`}>{note.title}</Link>
            <time dateTime={note.updatedAt}>{new Date(note.updatedAt).toLocaleString()}</time>
          </li>
        ))}
      </ul>
      {notes.hasNextPage ? (
        <button
          type="button"
          onClick={() => notes.fetchNextPage()}
          disabled={notes.isFetchingNextPage}
        >
          {notes.isFetchingNextPage ? "Loading…" : "Show older notes"}
        </button>
      ) : null}
    </section>
  );
}
