import { useQuery } from "@tanstack/react-query";
import { call } from "../api";
import { useApi } from "../hooks";

/** The offline dev mailbox (the route answers 404 on deployed stages). */
export function DevMail() {
  const api = useApi();
  // Mail is written by the worker a moment after the request that asked for it: poll.
  const mail = useQuery({
    queryKey: ["dev-mail"],
    queryFn: () => call(api.api.dev.mail.$get()),
    refetchInterval: 1_000,
  });
  if (mail.isError) return <p>The dev mailbox exists only when running offline.</p>;
  return (
    <section aria-labelledby="mail-title">
      <h1 id="mail-title">Dev mailbox</h1>
      {mail.data?.messages.length === 0 ? <p>No mail yet.</p> : null}
      {mail.data?.messages.map((m) => (
        <article key={m.id} aria-labelledby={`mail-${m.id}`}>
          <h2 id={`mail-${m.id}`}>{m.subject}</h2>
          <p>
            To {m.to}, {new Date(m.sentAt).toLocaleString()}
          </p>
          <pre>
            <Linked text={m.text} />
          </pre>
        </article>
      ))}
    </section>
  );
}

/** The text with this site's links made clickable (the mail's verify or reset link); others stay text. */
function Linked({ text }: { text: string }) {
  const origin = `${location.origin}/`;
  return text.split(/(https?:\/\/\S+)/).map((part, i) =>
    // A mail is fixed once sent, so its parts' positions are stable keys.
    part.startsWith(origin) ? (
      // biome-ignore lint/suspicious/noArrayIndexKey: the parts of a fixed text
      <a key={i} href={part}>
        {part}
      </a>
    ) : (
      part
    ),
  );
}
