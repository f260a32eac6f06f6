import { Link } from "wouter";

export function NotFound() {
  return (
    <section aria-labelledby="nf-title">
      <h1 id="nf-title">Not found</h1>
      <p>There is nothing here, or it is not yours.</p>
      <Link href="/">Back to your notes</Link>
    </section>
  );
}
