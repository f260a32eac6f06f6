// @ts-check

/**
 * The API's JSON request line as one short line with its trace id, which
 * `GET /api/dev/traces/<trace id>` expands into the request's spans and logs and its tasks'
 * (ADR 029): `GET /api/notes 200 4 ms  trace 4bf9…4736`. Any other line is left as it is.
 * @param {string} line
 */
export function shortRequestLine(line) {
  if (!line.startsWith('{"level":"info"') || !line.includes('"message":"request"')) return line;
  try {
    const { method, path: route, status, durationMs, traceId } = JSON.parse(line);
    return `${method} ${route} ${status} ${durationMs} ms  trace ${traceId}`;
  } catch {
    return line;
  }
}
