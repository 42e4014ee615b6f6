/** Clocks for the LocalGraph: the wall clock in nanoseconds, or a simulated one that only moves when told. */

export interface Clock {
  readonly simulated: boolean;
  nowNs(): bigint;
}

/** Wall-clock time with nanosecond resolution: the epoch at start plus the monotonic time since. */
export class RealClock implements Clock {
  readonly simulated = false;
  private readonly epochAtStartNs = BigInt(Date.now()) * 1_000_000n;
  private readonly monotonicAtStartNs = process.hrtime.bigint();

  nowNs(): bigint {
    return this.epochAtStartNs + (process.hrtime.bigint() - this.monotonicAtStartNs);
  }
}

/** Time that advances only through `LocalBus.advanceTo`/`advanceBy`, so replays are deterministic. */
export class SimulatedClock implements Clock {
  readonly simulated = true;
  private currentNs: bigint;

  constructor(startNs = 0n) {
    this.currentNs = startNs;
  }

  nowNs(): bigint {
    return this.currentNs;
  }

  /** Moves time forward; it never goes back. */
  set(timeNs: bigint): void {
    if (timeNs < this.currentNs) throw new RangeError(`simulated time cannot go back from ${this.currentNs} ns to ${timeNs} ns`);
    this.currentNs = timeNs;
  }
}
