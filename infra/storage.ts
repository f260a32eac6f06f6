import { isProduction } from "./stage";
import { siteOrigin } from "./web";

/**
 * Private bucket for user uploads. Browsers POST straight to S3 with presigned policies, so CORS
 * allows only the site's origin. Never public; objects are served through presigned GETs.
 */
export const uploads = new sst.aws.Bucket("Uploads", {
  cors: {
    allowOrigins: [siteOrigin],
    allowMethods: ["POST", "GET", "HEAD"],
    allowHeaders: ["*"],
    exposeHeaders: ["ETag"],
    maxAge: "1 hour",
  },
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

const ATTACHMENTS_PREFIX = "attachments/";
const attachmentObjects = $interpolate`${uploads.arn}/${ATTACHMENTS_PREFIX}*`;
// HeadObject on a missing key answers 404 only with ListBucket (else 403); the condition keeps
// listing to the attachments prefix.
const listAttachments: sst.aws.FunctionPermissionArgs = {
  actions: ["s3:ListBucket"],
  resources: [uploads.arn],
  conditions: [{ test: "StringLike", variable: "s3:prefix", values: [`${ATTACHMENTS_PREFIX}*`] }],
};

/** The API: presigns uploads (PutObject) and downloads (GetObject), HEADs objects (GetObject). */
export const apiAttachmentPermissions: sst.aws.FunctionPermissionArgs[] = [
  { actions: ["s3:PutObject", "s3:GetObject"], resources: [attachmentObjects] },
  listAttachments,
];

/** The worker: reads uploaded objects to check them and deletes them. */
export const workerAttachmentPermissions: sst.aws.FunctionPermissionArgs[] = [
  { actions: ["s3:GetObject", "s3:DeleteObject"], resources: [attachmentObjects] },
  listAttachments,
];
