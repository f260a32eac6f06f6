/** Fixed into the build by vite.config.ts (`define`), from the variables of the same names. */
interface ImportMetaEnv {
  readonly SLIPWAY_WEB_SENTRY_DSN?: string;
  readonly SLIPWAY_RELEASE?: string;
  readonly SLIPWAY_STAGE?: string;
}
