import { lazy, Suspense } from "react";
import { useMe } from "../session";
import { NotFound } from "./not-found";

// Its own chunk, fetched only when an admin opens /admin: members never download the console.
const Console = lazy(() => import("../admin/console").then((m) => ({ default: m.Console })));

/**
 * `/admin/*`: the operator console for an admin; for anyone else (a member, or signed out) the
 * same not-found page as any unknown path, so the console's existence is not advertised. The
 * API enforces the role on every /api/admin/* route; this only decides what to show.
 */
export function Admin() {
  const me = useMe();
  if (me.isPending) return <p role="status">Loading…</p>;
  if (me.data?.role !== "admin") return <NotFound />;
  return (
    <Suspense fallback={<p role="status">Loading the console…</p>}>
      <Console />
    </Suspense>
  );
}
