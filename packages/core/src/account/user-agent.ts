/**
 * A coarse, human reading of a User-Agent header for the session list: "Firefox on macOS".
 * Browser and OS family only, never versions, so the stored text says little more than a person
 * would recognise; the raw header is not kept. Order matters: Edge and Opera carry "Chrome/", and
 * every Chromium browser carries "Safari/".
 */
const BROWSERS: [RegExp, string][] = [
  [/\bEdg(e|A|iOS)?\//, "Edge"],
  [/\b(OPR|Opera)\//, "Opera"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\b(Firefox|FxiOS)\//, "Firefox"],
  [/\b(Chrome|CriOS|Chromium)\//, "Chrome"],
  [/\bVersion\/[\d.]+.*\bSafari\//, "Safari"],
  [/\bcurl\//, "curl"],
];

const SYSTEMS: [RegExp, string][] = [
  [/\b(iPhone|iPad|iPod)\b/, "iOS"],
  [/\bAndroid\b/, "Android"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bWindows\b/, "Windows"],
  [/\bMac OS X\b|\bMacintosh\b/, "macOS"],
  [/\bLinux\b/, "Linux"],
];

const first = (table: [RegExp, string][], header: string) =>
  table.find(([pattern]) => pattern.test(header))?.[1];

/** "Browser on OS", either alone, or undefined when the header says nothing recognisable. */
export function describeUserAgent(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const ua = header.slice(0, 1000);
  const browser = first(BROWSERS, ua);
  const system = first(SYSTEMS, ua);
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system;
}
