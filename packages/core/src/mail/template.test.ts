import { describe, expect, it } from "vitest";
import { escapeHTML, render } from "./template";

describe("mail templates", () => {
  it("escapes every value in the HTML and keeps the text as written", () => {
    const mail = render({
      to: "ada@example.com",
      subject: "Hi\nBcc: evil@example.com",
      greeting: `Hello <script>alert("x")</script> & 'co',`,
      paragraphs: ["Line one\nforged line", "<b>bold</b>"],
      action: { label: "Go <now>", url: `https://site.example/verify?token=a"b<c>&d` },
      footer: "Not you? Ignore it.",
    });
    // No header injection: the subject is one line.
    expect(mail.subject).toBe("Hi Bcc: evil@example.com");
    expect(mail.html).not.toContain("<script>");
    expect(mail.html).toContain(
      "Hello &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;,",
    );
    expect(mail.html).toContain("<p>&lt;b&gt;bold&lt;/b&gt;</p>");
    expect(mail.html).toContain('href="https://site.example/verify?token=a&quot;b&lt;c&gt;&amp;d"');
    expect(mail.text).toBe(
      [
        `Hello <script>alert("x")</script> & 'co',`,
        "",
        "Line one forged line",
        "",
        "<b>bold</b>",
        "",
        `Go <now>: https://site.example/verify?token=a"b<c>&d`,
        "",
        "Not you? Ignore it.",
      ].join("\n"),
    );
  });

  it("escapeHTML covers the five characters HTML gives meaning to", () => {
    expect(escapeHTML(`&<>"'`)).toBe("&amp;&lt;&gt;&quot;&#39;");
    expect(escapeHTML("plain ünïcode ☕")).toBe("plain ünïcode ☕");
  });

  it("without an action or footer, neither appears", () => {
    const mail = render({ to: "a@b.co", subject: "S", greeting: "Hi,", paragraphs: ["P"] });
    expect(mail.text).toBe("Hi,\n\nP");
    expect(mail.html).not.toContain("<a ");
  });
});
