// Latest-value throttling for progress and preview events: at most one send per interval, the
// newest value wins, and a value pushed during the quiet time is sent when it ends, so the last
// state always arrives. Keeps a chatty sampler from spending its time on the wire.
export class LatestThrottle<T> {
  private last = -Infinity;
  private pending: { value: T } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly send: (value: T) => void,
  ) {}

  push(value: T): void {
    const wait = this.last + this.intervalMs - performance.now();
    if (wait <= 0 && !this.timer) {
      this.last = performance.now();
      this.send(value);
      return;
    }
    this.pending = { value };
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, wait));
  }

  /** Sends what is pending now (a node finished) and stops the timer. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const p = this.pending;
    this.pending = undefined;
    if (p) {
      this.last = performance.now();
      this.send(p.value);
    }
  }
}
