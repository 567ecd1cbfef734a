// Vitest reporter printing a per-device summary table after the HIL suite: for each device profile
// (the describe block named after it), how many checks passed/failed, which failed, and the metrics
// tests attached with `recordMetric` (boot time, throughput, ...).
import type { Reporter, TestCase } from 'vitest/node';
import { PROFILE_NAMES, PROFILES, type ProfileName } from './profiles.js';
import './metrics.js';

interface Row {
  passed: number;
  failed: string[];
  skipped: number;
  metrics: Record<string, string | number>;
}

function profileOf(testCase: TestCase): ProfileName | undefined {
  let node: TestCase['parent'] | undefined = testCase.parent;
  while (node && node.type === 'suite') {
    const name = node.name.split(' ')[0] as ProfileName;
    if (PROFILE_NAMES.includes(name)) return name;
    node = node.parent;
  }
  return undefined;
}

export default class HilSummaryReporter implements Reporter {
  readonly #rows = new Map<ProfileName, Row>();

  onTestCaseResult(testCase: TestCase): void {
    const profile = profileOf(testCase);
    if (!profile) return;
    let row = this.#rows.get(profile);
    if (!row) {
      row = { passed: 0, failed: [], skipped: 0, metrics: {} };
      this.#rows.set(profile, row);
    }
    const state = testCase.result().state;
    if (state === 'passed') row.passed++;
    else if (state === 'failed') row.failed.push(testCase.name);
    else row.skipped++;
    Object.assign(row.metrics, testCase.meta().hilMetrics ?? {});
  }

  onTestRunEnd(): void {
    if (this.#rows.size === 0) return;
    const lines: string[] = ['', 'HIL per-device summary', ''];
    const header = ['profile', 'device', 'pass', 'fail', 'metrics'];
    const table: string[][] = [header];
    for (const name of PROFILE_NAMES) {
      const row = this.#rows.get(name);
      if (!row) continue;
      const metrics = Object.entries(row.metrics)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      table.push([name, PROFILES[name].description, String(row.passed), String(row.failed.length), metrics]);
    }
    const widths = header.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
    for (const [i, r] of table.entries()) {
      lines.push(r.map((cell, j) => (j === r.length - 1 ? cell : cell.padEnd(widths[j] ?? 0))).join('  '));
      if (i === 0) lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
    }
    for (const name of PROFILE_NAMES) {
      const row = this.#rows.get(name);
      if (row && row.failed.length > 0) lines.push(`  ${name} FAILED: ${row.failed.join('; ')}`);
    }
    lines.push('');
    console.log(lines.join('\n'));
  }
}
