/**
 * The "latest" synchronization mode: the freshest message of each topic, as a set only when every topic
 * has one and none is older than the allowed age. No waiting for a better match: lowest latency, for
 * cameras that are not triggered together. Pure and synchronous.
 */
import type { StampedMessage } from "./approximate-time.js";

/** A topic that keeps the set from forming: it has no message yet, or its freshest is too old. */
export interface UnfitInput {
  readonly topic: number;
  /** Age of its freshest message (now − stamp); undefined when it has none. */
  readonly ageNs: bigint | undefined;
}

export type LatestSet<T> = { readonly set: StampedMessage<T>[]; readonly unfit?: undefined } | { readonly set?: undefined; readonly unfit: UnfitInput[] };

export class LatestSynchronizer<T> {
  private readonly freshest: (StampedMessage<T> | undefined)[];

  constructor(readonly topics: number) {
    if (!Number.isInteger(topics) || topics < 1) throw new RangeError(`latest synchronization needs at least 1 topic, got ${topics}`);
    this.freshest = new Array<StampedMessage<T> | undefined>(topics).fill(undefined);
  }

  /** Keeps the message if it is the topic's freshest by stamp (an older one arriving late is ignored). */
  add(topic: number, stampNs: bigint, message: T): void {
    if (!Number.isInteger(topic) || topic < 0 || topic >= this.topics) throw new RangeError(`topic index ${topic} is outside 0..${this.topics - 1}`);
    const current = this.freshest[topic];
    if (current === undefined || stampNs >= current.stampNs) this.freshest[topic] = { stampNs, message };
  }

  /** The freshest of each topic if all exist and are at most `maxAgeNs` old at `nowNs`; else the topics that are not. */
  take(nowNs: bigint, maxAgeNs: bigint): LatestSet<T> {
    const unfit: UnfitInput[] = [];
    this.freshest.forEach((entry, topic) => {
      if (entry === undefined) unfit.push({ topic, ageNs: undefined });
      else if (nowNs - entry.stampNs > maxAgeNs) unfit.push({ topic, ageNs: nowNs - entry.stampNs });
    });
    if (unfit.length > 0) return { unfit };
    return { set: this.freshest.map((entry) => entry!) };
  }
}
