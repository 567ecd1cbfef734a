// Per-test metrics shown in the per-device summary table (summary-reporter.ts).
import type { TaskMeta } from 'vitest';

declare module 'vitest' {
  interface TaskMeta {
    hilMetrics?: Record<string, string | number>;
  }
}

/** Attaches a metric to the running test, e.g. recordMetric(ctx.task.meta, 'boot_s', 4.1). */
export function recordMetric(meta: TaskMeta, key: string, value: string | number): void {
  meta.hilMetrics = { ...meta.hilMetrics, [key]: value };
}
