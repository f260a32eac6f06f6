import { expect } from "vitest";
import { site } from "../src/api";
import { tasks } from "../src/tasks";
import { as } from "./app";
import { PNG } from "./fixtures/png";
import { drain } from "./tasks";

export { PNG };

/** The PNG fixture as a file to upload, and as the declaration that asks for its form. */
export const A_PNG = { filename: "a.png", contentType: "image/png", bytes: PNG };
export const A_PNG_DECLARED = { filename: "a.png", contentType: "image/png", size: PNG.byteLength };

export interface UploadForm {
  url: string;
  fields: Record<string, string>;
}

export interface AttachmentInfo {
  id: string;
  noteId: string;
  filename: string;
  contentType: string;
  size: number;
  status: "pending" | "ready" | "rejected";
  sha256: string | null;
  rejectReason: string | null;
}

/** POSTs an upload form as a browser would: the fields, then the file, to the form's URL. */
export async function postForm(
  upload: UploadForm,
  bytes: Uint8Array,
  options: { type?: string; fields?: Record<string, string> } = {},
) {
  const form = new FormData();
  for (const [name, value] of Object.entries({ ...upload.fields, ...options.fields })) {
    form.append(name, value);
  }
  form.append("file", new Blob([bytes], { type: options.type ?? "application/octet-stream" }));
  // The local store is served by this process at the URL's path (Vite proxies it offline).
  return site.request(new URL(upload.url).pathname, { method: "POST", body: form });
}

/** Follows a download link the way a browser would. */
export function download(url: string) {
  const { pathname, search } = new URL(url);
  return site.request(pathname + search);
}

/** A note of the user's, and a started upload on it. */
export async function startUpload(
  cookie: string,
  file: { filename: string; contentType: string; size: number },
  noteID?: string,
) {
  const user = as(cookie);
  const id =
    noteID ??
    (
      (await (await user.send("POST", "/api/notes", { title: "With files" })).json()) as {
        note: { id: string };
      }
    ).note.id;
  const response = await user.send("POST", `/api/notes/${id}/attachments`, file);
  expect(response.status).toBe(201);
  return {
    noteID: id,
    ...((await response.json()) as { attachment: AttachmentInfo; upload: UploadForm }),
  };
}

/** Uploads the bytes, completes, and runs the queued tasks: the attachment's final state. */
export async function uploadAndProcess(
  cookie: string,
  file: { filename: string; contentType: string; bytes: Uint8Array },
  noteID?: string,
) {
  const started = await startUpload(
    cookie,
    { filename: file.filename, contentType: file.contentType, size: file.bytes.byteLength },
    noteID,
  );
  expect((await postForm(started.upload, file.bytes, { type: file.contentType })).status).toBe(204);
  const completed = await as(cookie).send(
    "POST",
    `/api/attachments/${started.attachment.id}/complete`,
  );
  expect(completed.status).toBe(202);
  await drain(tasks);
  const got = (await (
    await as(cookie).get(`/api/attachments/${started.attachment.id}`)
  ).json()) as {
    attachment: AttachmentInfo;
    download: { url: string; expiresAt: string } | null;
  };
  return { ...started, ...got };
}
