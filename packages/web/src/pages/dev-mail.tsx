import { useQuery } from "@tanstack/react-query";
import { call } from "../api";
import { useApi } from "../hooks";

/** The offline dev mailbox (the route answers 404 on deployed stages). */
export function DevMail() {
  const api = useApi();
  const mail = useQuery({ queryKey: ["dev-mail"], queryFn: () => call(api.api.dev.mail.$get()) });
  if (mail.isError) return <p>The dev mailbox exists only when running offline.</p>;
  return (
    <section aria-labelledby="mail-title">
      <h1 id="mail-title">Dev mailbox</h1>
      {mail.data?.messages.length === 0 ? <p>No mail yet.</p> : null}
      {mail.data?.messages.map((m) => (
        <article key={m.id}>
          <h2>{m.subject}</h2>
          <p>
            To {m.to}, {new Date(m.sentAt).toLocaleString()}
          </p>
          <pre>{m.text}</pre>
        </article>
      ))}
    </section>
  );
}
