/**
 * Resampling one message stream onto the dataset's frame clock. Pure: messages go in, in time order;
 * a frame time is answered once the stream can no longer change its answer.
 *   hold:    the latest sample at or before the frame time.
 *   nearest: the closest sample on either side.
 * Either way a sample further than the tolerance from the frame time is stale.
 */
export type ResamplePolicy = "hold" | "nearest";

export type Resolution<T> = { state: "pending" } | { state: "stale"; ageNs: bigint | undefined } | { state: "ready"; value: T; timeNs: bigint };

export class StreamResampler<T> {
  readonly policy: ResamplePolicy;
  readonly toleranceNs: bigint;
  /** Samples still able to answer a frame, oldest first (at most the one ≤ the last asked time and later ones). */
  readonly #samples: { timeNs: bigint; value: T }[] = [];
  #ended = false;
  firstTimeNs: bigint | undefined;

  constructor(policy: ResamplePolicy, toleranceNs: bigint) {
    this.policy = policy;
    this.toleranceNs = toleranceNs;
  }

  push(timeNs: bigint, value: T): void {
    this.firstTimeNs ??= timeNs;
    this.#samples.push({ timeNs, value });
  }

  /** No more samples: pending frames resolve with what there is. */
  end(): void {
    this.#ended = true;
  }

  /** Answers frame time `tNs`; frames must be asked in increasing order. */
  resolve(tNs: bigint): Resolution<T> {
    const samples = this.#samples;
    // drop samples that a later one at or before tNs replaces
    while (samples.length >= 2 && samples[1]!.timeNs <= tNs) samples.shift();
    const before = samples[0] !== undefined && samples[0].timeNs <= tNs ? samples[0] : undefined;
    const after = samples.find((sample) => sample.timeNs > tNs) ?? (samples.find((sample) => sample.timeNs >= tNs && sample !== before));
    if (after === undefined && !this.#ended) return { state: "pending" };
    let chosen = before;
    if (this.policy === "nearest" && after !== undefined && (before === undefined || after.timeNs - tNs < tNs - before.timeNs)) chosen = after;
    if (chosen === undefined) return { state: "stale", ageNs: undefined };
    const distance = chosen.timeNs > tNs ? chosen.timeNs - tNs : tNs - chosen.timeNs;
    if (distance > this.toleranceNs) return { state: "stale", ageNs: distance };
    return { state: "ready", value: chosen.value, timeNs: chosen.timeNs };
  }
}

/** Frame i's time on a clock starting at `startNs` with `fps` frames per second (exact in ns). */
export function frameTimeNs(startNs: bigint, index: number, fps: number): bigint {
  return startNs + BigInt(Math.round((index * 1e9) / fps));
}
