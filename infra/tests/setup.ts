import { ensureSiteBuilt } from "../../scripts/infra/evaluate";
import { ensureSstPlatform } from "../../scripts/sst-platform";

// vitest globalSetup: a fresh clone gets SST's platform (offline, npm registry only) and the
// site's build output before any infra test evaluates the config.
export function setup() {
  ensureSstPlatform();
  ensureSiteBuilt();
}
