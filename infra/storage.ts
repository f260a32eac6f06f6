import {
  ATTACHMENTS_PREFIX,
  FILES_PREFIX,
  INCOMING_PREFIX,
  STRAY_UPLOAD_EXPIRY_DAYS,
} from "../packages/core/src/attachment/attachment.keys";
import { isProduction } from "./stage";

/**
 * Private bucket for user uploads. Never public; objects are served through presigned GETs.
 * Browsers POST straight to it with presigned policies: its CORS rule (the site's origin only)
 * is in web.ts, with the site's CSP that lets the page connect here, because each half needs the
 * other's address.
 */
export const uploads = new sst.aws.Bucket("Uploads", {
  cors: false,
  transform: {
    // Outside production a stage can be removed with its files.
    bucket: { forceDestroy: !isProduction },
  },
});

// Parts of abandoned multipart uploads are billed until aborted.
export const uploadsLifecycle = new aws.s3.BucketLifecycleConfiguration("UploadsLifecycle", {
  bucket: uploads.name,
  rules: [
    {
      id: "abort-incomplete-multipart-uploads",
      status: "Enabled",
      filter: {},
      abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
    },
    {
      // Uploads are deleted once checked; what stays (a form replayed, or never completed) goes
      // after the dead-letter retention, so a check can still be redriven until then.
      id: "expire-stray-uploads",
      status: "Enabled",
      filter: { prefix: INCOMING_PREFIX },
      expiration: { days: STRAY_UPLOAD_EXPIRY_DAYS },
    },
  ],
});

/**
 * What the app reads to find the bucket (`Resource.AttachmentStore`, packages/core/src/config.ts).
 * A plain Linkable with no `include`, so linking it grants nothing: linking the Bucket itself
 * would grant s3:* on the whole bucket. Access comes from the permission lists below.
 */
export const attachmentStore = new sst.Linkable("AttachmentStore", {
  properties: { bucket: uploads.name },
});

// Browsers upload to incoming/ (the only keys an upload form can name); the worker copies what it
// checks to files/, which is what downloads are signed for (attachment.keys.ts).
const incoming = $interpolate`${uploads.arn}/${INCOMING_PREFIX}*`;
const files = $interpolate`${uploads.arn}/${FILES_PREFIX}*`;
// HeadObject on a missing key answers 404 only with ListBucket (else 403); the condition keeps
// listing to the attachments prefix.
const listAttachments: sst.aws.FunctionPermissionArgs = {
  actions: ["s3:ListBucket"],
  resources: [uploads.arn],
  conditions: [{ test: "StringLike", variable: "s3:prefix", values: [`${ATTACHMENTS_PREFIX}*`] }],
};

/**
 * The API signs upload forms (PutObject on incoming/: a presigned request carries its signer's
 * rights), checks that an upload arrived (GetObject = HEAD on incoming/) and signs downloads
 * (GetObject on files/). It can never write a checked file.
 */
export const apiAttachmentPermissions: sst.aws.FunctionPermissionArgs[] = [
  { actions: ["s3:PutObject"], resources: [incoming] },
  { actions: ["s3:GetObject"], resources: [incoming, files] },
  listAttachments,
];

/** The worker copies an upload to files/ and reads it there, and deletes both. */
export const workerAttachmentPermissions: sst.aws.FunctionPermissionArgs[] = [
  { actions: ["s3:GetObject", "s3:DeleteObject"], resources: [incoming, files] },
  { actions: ["s3:PutObject"], resources: [files] },
  listAttachments,
];
