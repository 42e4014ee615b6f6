/**
 * A maximum publish rate: at most one event per slot of `1 / maxRateHz`, the slots centred on the first
 * accepted event. A source at exactly the maximum rate keeps every event despite jitter below half a
 * period (a plain "at least one period apart" rule would drop every other one); a faster source is thinned.
 */
export class RateLimiter {
  readonly periodNs: bigint;
  private originNs: bigint | undefined;
  private lastSlot = -1n;

  constructor(maxRateHz: number) {
    if (!(maxRateHz > 0) || !Number.isFinite(maxRateHz)) throw new RangeError(`maximum rate must be a positive number of Hz, got ${maxRateHz}`);
    this.periodNs = BigInt(Math.max(1, Math.round(1e9 / maxRateHz)));
  }

  /** True (and the slot is taken) when an event at `nowNs` may go out. */
  tryAcquire(nowNs: bigint): boolean {
    if (this.originNs === undefined) {
      this.originNs = nowNs - this.periodNs / 2n;
      this.lastSlot = 0n;
      return true;
    }
    const sinceOrigin = nowNs - this.originNs;
    if (sinceOrigin < 0n) return false;
    const slot = sinceOrigin / this.periodNs;
    if (slot <= this.lastSlot) return false;
    this.lastSlot = slot;
    return true;
  }
}
