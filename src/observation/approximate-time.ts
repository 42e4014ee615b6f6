/**
 * Approximate-time synchronization of N topics by header stamp: the adaptive algorithm of ROS
 * message_filters' C++ `ApproximateTime` policy (the one its documentation describes; the Python
 * `ApproximateTimeSynchronizer` is a simpler greedy search whose output depends on arrival order).
 *
 * Every set it outputs holds one message per topic and
 * - uses each message at most once, and each topic's messages in stamp order;
 * - spans at most `slopNs` (message_filters' max interval duration; a span equal to it is accepted);
 * - is the set of smallest span among the candidates sharing its pivot (the topic whose head came last),
 *   later candidates being weighed with the age penalty, so sets do not depend on arrival order;
 * - is output as soon as it is provably optimal: when the next message of every other topic arrived, or
 *   earlier where an inter-message lower bound (a topic's shortest period) proves no better set can come.
 * A topic holding more than `queueSize` messages drops its oldest, and cannot become the pivot again until
 * a later set shows nothing it dropped could have done better.
 *
 * Pure and synchronous: `add` returns the sets it completed, oldest first.
 */

export interface StampedMessage<T> {
  readonly stampNs: bigint;
  readonly message: T;
}

export interface ApproximateTimeOptions {
  /** Number of synchronized topics (≥ 2). */
  readonly topics: number;
  /** Messages kept per topic while a set is searched (≥ 1; message_filters recommends ≥ 2). */
  readonly queueSize: number;
  /** Largest span (newest − oldest stamp) of a set; undefined = unbounded. */
  readonly slopNs?: bigint;
  /** Weight of a later candidate's extra age against its smaller span; message_filters' default 0.1. */
  readonly agePenalty?: number;
  /** Per topic, the shortest time between two of its messages (0 = unknown). */
  readonly lowerBoundsNs?: readonly bigint[];
  /** Told once per topic when its stamps go backwards or come closer than its lower bound. */
  readonly onWarning?: (topic: number, message: string) => void;
}

const NO_PIVOT = -1;

export class ApproximateTimeSynchronizer<T> {
  private readonly topics: number;
  private readonly queueSize: number;
  private readonly slopNs: bigint | undefined;
  private readonly agePenalty: number;
  private readonly lowerBoundsNs: readonly bigint[];
  private readonly onWarning: ((topic: number, message: string) => void) | undefined;
  /** Per topic: messages not yet examined for the current candidate, oldest first. */
  private readonly deques: StampedMessage<T>[][];
  /** Per topic: messages examined since the current candidate was made (given back when it is published). */
  private readonly past: StampedMessage<T>[][];
  private nonEmptyDeques = 0;
  private candidate: StampedMessage<T>[] | undefined;
  private candidateStartNs = 0n;
  private candidateEndNs = 0n;
  private pivotNs = 0n;
  private pivot = NO_PIVOT;
  private readonly hasDropped: boolean[];
  private readonly warned: boolean[];
  private readonly dropped: number[];
  private output: StampedMessage<T>[][] = [];

  constructor(options: ApproximateTimeOptions) {
    const { topics, queueSize } = options;
    if (!Number.isInteger(topics) || topics < 2) throw new RangeError(`approximate-time synchronization needs at least 2 topics, got ${topics}`);
    if (!Number.isInteger(queueSize) || queueSize < 1) throw new RangeError(`queue size must be a whole number ≥ 1, got ${queueSize}`);
    if (options.slopNs !== undefined && options.slopNs < 0n) throw new RangeError(`slop must be ≥ 0 ns, got ${options.slopNs}`);
    const agePenalty = options.agePenalty ?? 0.1;
    if (!(agePenalty >= 0)) throw new RangeError(`age penalty must be ≥ 0, got ${agePenalty}`);
    const bounds = options.lowerBoundsNs ?? [];
    if (bounds.length > topics || bounds.some((bound) => bound < 0n)) throw new RangeError(`lower bounds: at most one per topic (${topics}), each ≥ 0 ns; got [${bounds.join(", ")}]`);
    this.topics = topics;
    this.queueSize = queueSize;
    this.slopNs = options.slopNs;
    this.agePenalty = agePenalty;
    this.lowerBoundsNs = Array.from({ length: topics }, (_, i) => bounds[i] ?? 0n);
    this.onWarning = options.onWarning;
    this.deques = Array.from({ length: topics }, () => []);
    this.past = Array.from({ length: topics }, () => []);
    this.hasDropped = new Array<boolean>(topics).fill(false);
    this.warned = new Array<boolean>(topics).fill(false);
    this.dropped = new Array<number>(topics).fill(0);
  }

  /** Messages each topic dropped from its full queue so far. */
  get droppedCounts(): readonly number[] {
    return this.dropped;
  }

  /** Messages held per topic (waiting or examined). */
  get queuedCounts(): number[] {
    return this.deques.map((deque, i) => deque.length + this.past[i]!.length);
  }

  /** Adds a message of `topic`; returns the sets this completed, each one message per topic in topic order. */
  add(topic: number, stampNs: bigint, message: T): StampedMessage<T>[][] {
    if (!Number.isInteger(topic) || topic < 0 || topic >= this.topics) throw new RangeError(`topic index ${topic} is outside 0..${this.topics - 1}`);
    const deque = this.deques[topic]!;
    deque.push({ stampNs, message });
    if (deque.length === 1) {
      this.nonEmptyDeques++;
      if (this.nonEmptyDeques === this.topics) this.process();
    } else {
      this.checkLowerBound(topic);
    }
    // process() may have left queueSize + 1 messages in this topic.
    if (deque.length + this.past[topic]!.length > this.queueSize) {
      this.nonEmptyDeques = 0;
      for (let i = 0; i < this.topics; i++) this.recover(i, this.past[i]!.length);
      deque.shift();
      this.dropped[topic]!++;
      this.hasDropped[topic] = true;
      if (this.pivot !== NO_PIVOT) {
        this.candidate = undefined;
        this.pivot = NO_PIVOT;
        this.process();
      }
    }
    const sets = this.output;
    this.output = [];
    return sets;
  }

  private checkLowerBound(topic: number): void {
    if (this.warned[topic]) return;
    const deque = this.deques[topic]!;
    const previous = deque.length >= 2 ? deque[deque.length - 2] : this.past[topic]!.at(-1);
    if (previous === undefined) return;
    const stampNs = deque.at(-1)!.stampNs;
    const bound = this.lowerBoundsNs[topic]!;
    if (stampNs < previous.stampNs) this.warn(topic, `stamps went backwards (${previous.stampNs} ns, then ${stampNs} ns)`);
    else if (stampNs - previous.stampNs < bound) this.warn(topic, `two messages came ${stampNs - previous.stampNs} ns apart, closer than the lower bound ${bound} ns`);
  }

  private warn(topic: number, message: string): void {
    this.warned[topic] = true;
    this.onWarning?.(topic, message);
  }

  /** `durationNs × (1 + age penalty)`, truncated to whole nanoseconds as rclcpp's Duration does. */
  private penalized(durationNs: bigint): bigint {
    return BigInt(Math.trunc(Number(durationNs) * (1 + this.agePenalty)));
  }

  private deleteFront(topic: number): void {
    const deque = this.deques[topic]!;
    deque.shift();
    if (deque.length === 0) this.nonEmptyDeques--;
  }

  private moveFrontToPast(topic: number): void {
    const deque = this.deques[topic]!;
    const front = deque.shift();
    if (front === undefined) throw new Error(`approximate-time synchronizer: topic ${topic} has no message to move (internal invariant broken)`);
    this.past[topic]!.push(front);
    if (deque.length === 0) this.nonEmptyDeques--;
  }

  /** Gives the last `count` examined messages of `topic` back to the front of its deque. */
  private recover(topic: number, count: number): void {
    const deque = this.deques[topic]!;
    const past = this.past[topic]!;
    for (let k = 0; k < count; k++) deque.unshift(past.pop()!);
    if (deque.length > 0) this.nonEmptyDeques++;
  }

  private makeCandidate(startNs: bigint, endNs: bigint): void {
    this.candidate = this.deques.map((deque) => deque[0]!);
    for (const past of this.past) past.length = 0;
    this.candidateStartNs = startNs;
    this.candidateEndNs = endNs;
  }

  private publishCandidate(): void {
    this.output.push(this.candidate!);
    this.candidate = undefined;
    this.pivot = NO_PIVOT;
    this.nonEmptyDeques = 0;
    // Give the examined messages back and remove the published ones (each deque's front).
    for (let i = 0; i < this.topics; i++) {
      const deque = this.deques[i]!;
      const past = this.past[i]!;
      while (past.length > 0) deque.unshift(past.pop()!);
      deque.shift();
      if (deque.length > 0) this.nonEmptyDeques++;
    }
  }

  /** Earliest (first topic on ties) and latest (last topic on ties) of per-topic times. */
  private static bounds(times: readonly bigint[]): { startIndex: number; startNs: bigint; endIndex: number; endNs: bigint } {
    let startIndex = 0;
    let endIndex = 0;
    for (let i = 1; i < times.length; i++) {
      if (times[i]! < times[startIndex]!) startIndex = i;
      if (times[i]! >= times[endIndex]!) endIndex = i;
    }
    return { startIndex, startNs: times[startIndex]!, endIndex, endNs: times[endIndex]! };
  }

  /** With a candidate: each head's stamp, or for an empty deque the earliest its next message can have. */
  private virtualTimes(): bigint[] {
    return this.deques.map((deque, i) => {
      if (deque.length > 0) return deque[0]!.stampNs;
      const earliest = this.past[i]!.at(-1)!.stampNs + this.lowerBoundsNs[i]!;
      return earliest > this.pivotNs ? earliest : this.pivotNs;
    });
  }

  private process(): void {
    while (this.nonEmptyDeques === this.topics) {
      const { startIndex, startNs, endIndex, endNs } = ApproximateTimeSynchronizer.bounds(this.deques.map((deque) => deque[0]!.stampNs));
      // Nothing dropped from the other topics could have beaten what they hold now.
      for (let i = 0; i < this.topics; i++) if (i !== endIndex) this.hasDropped[i] = false;
      if (this.pivot === NO_PIVOT) {
        if (this.slopNs !== undefined && endNs - startNs > this.slopNs) {
          this.deleteFront(startIndex);
          continue;
        }
        if (this.hasDropped[endIndex]) {
          // A topic that dropped messages is no pivot: a dropped one might have matched better.
          this.deleteFront(startIndex);
          continue;
        }
        this.makeCandidate(startNs, endNs);
        this.pivot = endIndex;
        this.pivotNs = endNs;
        this.moveFrontToPast(startIndex);
      } else {
        if (this.penalized(endNs - this.candidateEndNs) < startNs - this.candidateStartNs) this.makeCandidate(startNs, endNs);
        this.moveFrontToPast(startIndex);
      }
      if (startIndex === this.pivot) {
        // Every candidate for this pivot has been seen: the best one is final.
        this.publishCandidate();
      } else if (this.penalized(endNs - this.candidateEndNs) >= this.pivotNs - this.candidateStartNs) {
        // Any later candidate spans [pivot, end], already worse than this one.
        this.publishCandidate();
      } else if (this.nonEmptyDeques < this.topics) {
        this.proveWithLowerBounds();
      }
    }
  }

  /** Moves heads virtually, using each empty topic's lower bound, until the candidate is proved optimal or not. */
  private proveWithLowerBounds(): void {
    const moves = new Array<number>(this.topics).fill(0);
    for (;;) {
      const { startIndex, startNs, endNs } = ApproximateTimeSynchronizer.bounds(this.virtualTimes());
      const extra = this.penalized(endNs - this.candidateEndNs);
      if (extra >= this.pivotNs - this.candidateStartNs) {
        this.publishCandidate();
        return;
      }
      if (extra < startNs - this.candidateStartNs) {
        // An optimistic future candidate would be better: undo the virtual moves and wait for messages.
        this.nonEmptyDeques = 0;
        for (let i = 0; i < this.topics; i++) this.recover(i, moves[i]!);
        return;
      }
      this.moveFrontToPast(startIndex);
      moves[startIndex]!++;
    }
  }
}
