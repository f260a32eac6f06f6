import { chromium } from "playwright-core";
import { CHROMIUM } from "./setup";

/** Debian's Chromium, headless, with nothing of its own going to the network. */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
