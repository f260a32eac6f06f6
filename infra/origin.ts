import { RandomPassword } from "./random";

/**
 * The API's origin is API Gateway's public `execute-api` URL: anyone can call it and write any
 * header, `X-Forwarded-For` included. So CloudFront proves a request came through it with a
 * per-stage secret header on `/api` origin requests, and tells the API who the viewer is in
 * `CloudFront-Viewer-Address`, which CloudFront writes from its TCP peer (ADR 017).
 * The API (packages/core/src/http/client-address.ts) refuses a request without the secret.
 */

export const API_PATH = "/api";
export const ORIGIN_SECRET_HEADER = "x-slipway-origin-secret";
export const VIEWER_ADDRESS_HEADER = "CloudFront-Viewer-Address";

/**
 * Generated per stage, kept in the stage's state. Rotate: bump `generation` and deploy (the
 * Router's function and the API tasks take the new value within minutes of each other; requests
 * in between may be refused).
 */
export const originSecret = new RandomPassword("OriginSecret", {
  length: 48,
  special: false,
  keepers: { generation: "1" },
});

/**
 * Viewer-request code the Router runs before routing (its `edge.viewerRequest.injection`): the
 * secret on the paths its `/api` route matches (that path or below it), and on no other path, so
 * no other origin ever receives it. A viewer's own header of that name is overwritten or dropped.
 */
export const originSecretInjection = originSecret.result.apply((secret) =>
  [
    `if (event.request.uri === ${JSON.stringify(API_PATH)} || event.request.uri.startsWith(${JSON.stringify(`${API_PATH}/`)})) {`,
    `  event.request.headers[${JSON.stringify(ORIGIN_SECRET_HEADER)}] = { value: ${JSON.stringify(secret)} };`,
    "} else {",
    `  delete event.request.headers[${JSON.stringify(ORIGIN_SECRET_HEADER)}];`,
    "}",
  ].join("\n"),
);

/**
 * What CloudFront forwards to every origin (the Router has one behaviour for all paths). Not
 * SST's default AllViewerExceptHostHeader: no policy that forwards all viewer headers can add a
 * CloudFront header without forwarding `Host` too, and API Gateway refuses a request whose Host
 * is not its own. So: the viewer headers the API reads, the secret the function adds, and
 * CloudFront-Viewer-Address. CloudFront adds User-Agent itself. A header the API starts to read
 * must be added here, or it never reaches the API (the edge invariant requires the ones it
 * reads today: Origin, Content-Type, the secret and the viewer's address).
 */
export const forwardedHeaders = [
  "Accept",
  "Content-Type",
  "Origin",
  "Referer",
  "X-Request-Id",
  ORIGIN_SECRET_HEADER,
  VIEWER_ADDRESS_HEADER,
];

export const originRequestPolicy = new aws.cloudfront.OriginRequestPolicy("RouterOriginRequests", {
  comment: "Slipway: the API's viewer headers, the origin secret and CloudFront-Viewer-Address",
  headersConfig: { headerBehavior: "whitelist", headers: { items: forwardedHeaders } },
  cookiesConfig: { cookieBehavior: "all" },
  queryStringsConfig: { queryStringBehavior: "all" },
});
