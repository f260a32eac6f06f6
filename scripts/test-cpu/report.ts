import { readFileSync } from "node:fs";
import path from "node:path";

// `npx tsx scripts/test-cpu/report.ts <report> [<before report>]`: the CPU each test file spent
// (written by probe.ts under TEST_CPU_REPORT), largest first, with the total and what it means
// for the wall time on this machine's cores; with a second report, side by side.

interface Line {
  file: string;
  selfAtStart: number;
  self: number;
  children: number;
  wall: number;
}

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

function read(file: string): Map<string, { cpu: number; wall: number }> {
  const files = new Map<string, { cpu: number; wall: number }>();
  for (const text of readFileSync(file, "utf8").split("\n")) {
    if (!text.trim()) continue;
    const line = JSON.parse(text) as Line;
    const name = path.relative(root, line.file);
    // A test that runs vitest in a generated project (the module generator's end-to-end test)
    // reports that project's files too: their CPU is already its own (children).
    if (name.startsWith("..")) continue;
    // Each file runs in a worker of its own (vitest's isolation): its start-up counts too.
    files.set(name, { cpu: line.selfAtStart + line.self + line.children, wall: line.wall });
  }
  return files;
}

const [now, before] = process.argv.slice(2).map(read);
if (!now) {
  process.stderr.write("usage: report.ts <report> [<before report>]\n");
  process.exit(2);
}
const names = [...new Set([...now.keys(), ...(before?.keys() ?? [])])].sort(
  (a, b) => (now.get(b)?.cpu ?? 0) - (now.get(a)?.cpu ?? 0),
);
const sum = (m: Map<string, { cpu: number }>) => [...m.values()].reduce((s, v) => s + v.cpu, 0);
const f = (n: number | undefined) => (n === undefined ? "-" : n.toFixed(1));
for (const name of names) {
  const a = now.get(name);
  const b = before?.get(name);
  process.stdout.write(
    before
      ? `${f(b?.cpu).padStart(7)} ${f(a?.cpu).padStart(7)}  ${name}\n`
      : `${f(a?.cpu).padStart(7)} ${f(a?.wall).padStart(7)}  ${name}\n`,
  );
}
process.stdout.write(
  before
    ? `${f(sum(before)).padStart(7)} ${f(sum(now)).padStart(7)}  total CPU-s (before, now), ${names.length} files\n`
    : `${f(sum(now)).padStart(7)}          total CPU-s over ${now.size} files (CPU-s, wall-s each)\n`,
);
