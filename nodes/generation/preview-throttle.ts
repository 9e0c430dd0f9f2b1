// Keeps live previews under a fraction of step time: a preview is made when the cost of a
// preview (the fastest of the recent ones) is within `fraction` of the typical (median) step.
// The fastest, because making a preview is deterministic work: preemption, GC pauses and JIT
// warm-up only ever add time, and on a loaded machine they inflated a median enough to skip most
// previews of a run that spent 0.4% of its time on them. A real regression (every preview slow,
// e.g. an encoder 100x slower) still skips. After PROBE_AFTER skipped steps one preview is made
// anyway to refresh the estimate. Previews are made synchronously (see encodePreviewPng), so
// their cost is measured exactly. calibrate() fills the window before the first step.
const WINDOW = 16;
const PROBE_AFTER = 8;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!; // the lower median: one outlier of two is ignored
}

export class PreviewThrottle {
  private readonly previewMs: number[] = [];
  private readonly stepMs: number[] = [];
  private totalPreviewMs = 0;
  private totalStepMs = 0;
  private skipped = 0;
  sent = 0;

  constructor(
    readonly fraction = 0.05,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Makes `times` throwaway previews before sampling starts; the costs of the last WINDOW seed the
   * estimate. The first ones pay for JIT compilation: in a fresh process a 16x16 preview measured
   * ~0.4 ms, then ~75 us for a few dozen calls until optimized, then ~5-25 us (by machine load).
   * Not charged to `cost`: it is paid once per run, not per step.
   */
  calibrate(make: () => unknown, times = 48): void {
    for (let i = 0; i < times; i++) {
      const start = this.now();
      make();
      if (i >= times - WINDOW) push(this.previewMs, this.now() - start);
    }
  }

  /** Records a finished step's duration; true when a preview fits the budget now. */
  stepDone(ms: number): boolean {
    this.totalStepMs += ms;
    push(this.stepMs, ms);
    const fits = this.previewMs.length === 0 || Math.min(...this.previewMs) <= this.fraction * median(this.stepMs);
    if (fits || this.skipped >= PROBE_AFTER) {
      this.skipped = 0;
      return true;
    }
    this.skipped++;
    return false;
  }

  /** Makes one preview, charging its time to the budget. */
  run<T>(make: () => T): T {
    const start = this.now();
    try {
      return make();
    } finally {
      const ms = this.now() - start;
      this.totalPreviewMs += ms;
      push(this.previewMs, ms);
      this.sent++;
    }
  }

  /** Share of step time spent on previews so far (all of it, outliers included). */
  get cost(): number {
    return this.totalStepMs > 0 ? this.totalPreviewMs / this.totalStepMs : 0;
  }
}

function push(window: number[], value: number): void {
  window.push(value);
  if (window.length > WINDOW) window.shift();
}
