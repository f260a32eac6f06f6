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
