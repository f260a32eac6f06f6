import { ensureSstPlatform } from "../../scripts/sst-platform";

// vitest globalSetup: a fresh clone gets SST's platform (offline, npm registry only) before any
// infra test evaluates the config.
export function setup() {
  ensureSstPlatform();
}
