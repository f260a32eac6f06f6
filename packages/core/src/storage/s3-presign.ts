/**
 * The presigners, imported on first use by s3.ts. Through this module, not with `import()` of the
 * packages: they are CommonJS, and a bundle split into chunks (the Lambdas, the API container)
 * gives a dynamic import of CommonJS only a default export, so their named functions came back
 * undefined (docs/decisions/022-bundle-size-and-cold-start.md).
 */
export { createPresignedPost } from "@aws-sdk/s3-presigned-post";
export { getSignedUrl } from "@aws-sdk/s3-request-presigner";
