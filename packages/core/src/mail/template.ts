/**
 * Every email the app writes, as plain text and as simple HTML, from one shape: a greeting,
 * paragraphs, at most one link-button, a closing line. No template engine: values are
 * HTML-escaped here, once, and the HTML is a fixed frame around them. Callers pass absolute links
 * (from the site's URL in config).
 */
export interface MailContent {
  to: string;
  subject: string;
  greeting: string;
  paragraphs: readonly string[];
  action?: { label: string; url: string };
  /** Why the recipient got it / what to do if it was not them. */
  footer?: string;
}

const entities: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text made safe for HTML element content and double- or single-quoted attributes. */
export function escapeHTML(value: string): string {
  return value.replace(/[&<>"']/g, (char) => entities[char] ?? char);
}

/** One line: the values a user chose (a name) cannot add lines to the text or break the frame. */
const line = (value: string) => value.replace(/\s+/g, " ").trim();

/** The message for `Mail.send`: `text` and `html` say the same. */
export function render(content: MailContent): {
  to: string;
  subject: string;
  text: string;
  html: string;
} {
  const paragraphs = content.paragraphs.map(line);
  const text = [
    line(content.greeting),
    "",
    ...paragraphs.flatMap((p) => [p, ""]),
    ...(content.action ? [`${line(content.action.label)}: ${content.action.url}`, ""] : []),
    ...(content.footer ? [line(content.footer)] : []),
  ]
    .join("\n")
    .trimEnd();
  const p = (value: string) => `<p>${escapeHTML(value)}</p>`;
  const html = [
    "<!doctype html>",
    '<html><body style="font-family: sans-serif; line-height: 1.5; max-width: 36em">',
    p(line(content.greeting)),
    ...paragraphs.map(p),
    ...(content.action
      ? [
          `<p><a href="${escapeHTML(content.action.url)}" style="display: inline-block; padding: 0.5em 1em; background: #1f4fd8; color: #fff; text-decoration: none; border-radius: 4px">${escapeHTML(line(content.action.label))}</a></p>`,
          `<p style="font-size: 0.9em">Or open this link: ${escapeHTML(content.action.url)}</p>`,
        ]
      : []),
    ...(content.footer
      ? [`<p style="color: #666; font-size: 0.9em">${escapeHTML(line(content.footer))}</p>`]
      : []),
    "</body></html>",
  ].join("\n");
  return { to: content.to, subject: line(content.subject), text, html };
}
