/**
 * Sends a file to a presigned POST form the way S3 expects it: every signed field first, then
 * the file last. XMLHttpRequest rather than fetch, because only XHR reports upload progress.
 */
export function uploadFile(
  form: { url: string; fields: Record<string, string> },
  file: Blob,
  onProgress: (loaded: number, total: number) => void,
): Promise<void> {
  const body = new FormData();
  for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
  body.append("file", file);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.url);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(new Error(uploadErrorMessage(xhr.status, xhr.responseText)));
    };
    xhr.onerror = () => reject(new Error("The upload failed: the storage could not be reached"));
    xhr.send(body);
  });
}

/** The store's reason: JSON `{error:{message}}` offline, an XML `<Message>` from S3. */
export function uploadErrorMessage(status: number, body: string): string {
  try {
    const message = (JSON.parse(body) as { error?: { message?: string } }).error?.message;
    if (message) return `The upload was refused: ${message}`;
  } catch {
    const xml = /<Message>([^<]*)<\/Message>/.exec(body)?.[1];
    if (xml) return `The upload was refused: ${xml}`;
  }
  return `The upload failed (${status})`;
}

/** 1536 → "1.5 KB": sizes as people read them. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toFixed(1))} ${units[unit]}`;
}
