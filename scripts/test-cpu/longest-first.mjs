import { relative } from "node:path";
import { BaseSequencer } from "vitest/node";

/**
 * The order `npm test` starts its files in: the longest first, across all projects. vitest's own
 * order runs the projects one after another (by name: core, infra, scripts, web), so the infra
 * graph test (~35 s of wall time, its evaluations in processes of their own) started two minutes
 * in and the run ended on it and the web tests, a core idle (measured: started at 114 s of 163).
 * Longest by the last run's durations when every file has one (vitest's results cache), else by
 * size (a clean clone, as CI has: the large files are the long ones), as vitest's sequencer does
 * within a project. Files of every project share the one pool either way; only the order changes.
 */
export class LongestFirst extends BaseSequencer {
  /**
   * @param {import("vitest/node").TestSpecification[]} files
   * @returns {Promise<import("vitest/node").TestSpecification[]>}
   */
  async sort(files) {
    const { cache, config } = this.ctx;
    /** @param {import("vitest/node").TestSpecification} file */
    const key = (file) => `${file.project.name}:${relative(config.root, file.moduleId)}`;
    const durations = files.map((file) => cache.getFileTestResults(key(file))?.duration);
    const known = durations.every((duration) => duration !== undefined);
    return files
      .map((file, i) => ({
        file,
        cost: known ? (durations[i] ?? 0) : (cache.getFileStats(key(file))?.size ?? 0),
      }))
      .sort((a, b) => b.cost - a.cost)
      .map(({ file }) => file);
  }
}
