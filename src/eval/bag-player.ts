/**
 * Plays a rosbag2 recording onto a LocalBus: the chosen topics, renamed as asked, at their recorded receive
 * times. One module, two clocks: on the bus's simulated clock (replay evaluation: deterministic, as fast as the
 * nodes allow) or in real time (the demo: header stamps shifted to now, optionally looping). Messages come from
 * `src/bag` in time order and are normalized to the generated message types.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { InputError } from "../errors.js";
import { BagReader } from "../bag/reader.js";
import { isMessageType, normalizeMessage, timeFromNs, nsFromTime, type MessageTypeName, type RosTime } from "../msgs/messages.js";
import type { Publisher } from "../ros/graph.js";
import type { LocalBus, LocalGraph } from "../ros/local-graph.js";
import type { QosOption } from "../ros/qos.js";

export interface PlayedTopic {
  /** The topic in the bag. */
  from: string;
  /** The topic on the bus (absolute, or relative to the player's namespace); the bag's name when absent. */
  to?: string;
  /** What the player offers: `reliable` (reaches every subscriber) unless given; `latched` for instructions. */
  qos?: QosOption;
}

export interface PlayStats {
  /** Messages published. */
  messages: number;
  /** Receive time of the last message published, on the bag's time line. */
  lastBagTimeNs: bigint;
  /** Real time only: how late the latest-published message was, at worst, in milliseconds. */
  maxLateMs: number;
  /** Real time only: how many times the bag was played from its start (1 without looping). */
  passes: number;
}

export interface RealTimeOptions {
  /** Stops playing (promptly, between messages) when aborted. */
  signal?: AbortSignal;
  /** Starts again from the bag's first message after its last one, until aborted. */
  loop?: boolean;
  /** Called after each message is published, with its topic on the bus and its (shifted) receive time. */
  onMessage?: (busTopic: string, timeNs: bigint) => void;
}

interface Track {
  from: string;
  type: MessageTypeName;
  publisher: Publisher<unknown>;
}

/** Time between the end of one pass and the start of the next when looping: one camera frame at 30 Hz. */
const LOOP_GAP_NS = 33_333_333n;

export class BagPlayer {
  readonly bag: BagReader;
  readonly topics: readonly PlayedTopic[];
  /** Receive time of the first and last played message. */
  readonly firstNs: bigint;
  readonly lastNs: bigint;

  private constructor(bag: BagReader, topics: readonly PlayedTopic[], firstNs: bigint, lastNs: bigint) {
    this.bag = bag;
    this.topics = topics;
    this.firstNs = firstNs;
    this.lastNs = lastNs;
  }

  /**
   * Opens the bag and checks the topics: each must be in the bag (else the error lists the bag's topics) and
   * of a type the message layer knows.
   */
  static async open(bagPath: string, topics: readonly PlayedTopic[]): Promise<BagPlayer> {
    if (topics.length === 0) throw new InputError(`${bagPath}: no topics to play; name at least one of the bag's topics`);
    const bag = await BagReader.open(bagPath);
    bag.requireTopics(topics.map((topic) => topic.from), "to play");
    for (const topic of topics) {
      const type = bag.topics.find((info) => info.name === topic.from)!.type;
      if (!isMessageType(type)) throw new InputError(`${bag.path}: topic ${topic.from} carries ${type}, which the player cannot publish (it publishes the message types of src/msgs)`);
    }
    let firstNs: bigint | undefined;
    let lastNs = 0n;
    for await (const message of bag.messages({ topics: topics.map((topic) => topic.from), decode: false })) {
      firstNs ??= message.logTimeNs;
      lastNs = message.logTimeNs;
    }
    if (firstNs === undefined) throw new InputError(`${bag.path}: topics ${topics.map((topic) => topic.from).join(", ")} hold no message`);
    return new BagPlayer(bag, topics, firstNs, lastNs);
  }

  /** Recorded length of the played topics, first to last message. */
  get durationNs(): bigint {
    return this.lastNs - this.firstNs;
  }

  private attach(bus: LocalBus, namespace: string): { graph: LocalGraph; tracks: Map<string, Track> } {
    const graph = bus.createGraph("bag_player", { namespace });
    const tracks = new Map<string, Track>();
    for (const topic of this.topics) {
      const type = this.bag.topics.find((info) => info.name === topic.from)!.type as MessageTypeName;
      tracks.set(topic.from, { from: topic.from, type, publisher: graph.createPublisher(type, topic.to ?? topic.from, topic.qos ?? "reliable") as Publisher<unknown> });
    }
    return { graph, tracks };
  }

  /**
   * Plays onto a bus with a simulated clock: before each message the bus advances to its receive time (timers
   * due before it fire first), and its subscribers have run before the next one. Leaves the clock at the last
   * message's time. The bus clock must not be past the first message.
   */
  async playSimulated(bus: LocalBus, options: { namespace?: string; onMessage?: (busTopic: string, timeNs: bigint) => void } = {}): Promise<PlayStats> {
    if (!bus.clock.simulated) throw new Error("playSimulated needs a LocalBus with a simulated clock; use playRealTime on a real one");
    if (bus.clock.nowNs() > this.firstNs) throw new InputError(`${this.bag.path}: the bus clock (${bus.clock.nowNs()} ns) is already past the bag's first message (${this.firstNs} ns)`);
    const { graph, tracks } = this.attach(bus, options.namespace ?? "/");
    let messages = 0;
    let lastBagTimeNs = this.firstNs;
    try {
      for await (const recorded of this.bag.messages({ topics: [...tracks.keys()] })) {
        const track = tracks.get(recorded.topic)!;
        await bus.advanceTo(recorded.logTimeNs);
        track.publisher.publish(normalizeMessage(track.type, recorded.message));
        await bus.flush();
        messages++;
        lastBagTimeNs = recorded.logTimeNs;
        options.onMessage?.(track.publisher.topic, recorded.logTimeNs);
      }
    } finally {
      graph.destroy();
    }
    return { messages, lastBagTimeNs, maxLateMs: 0, passes: 1 };
  }

  /**
   * Plays onto a bus with a real clock, each message at its receive time shifted to start now; every top-level
   * `header.stamp` is shifted by the same amount, so nodes see fresh data. Resolves when the bag ends (or, when
   * looping, when aborted).
   */
  async playRealTime(bus: LocalBus, options: RealTimeOptions & { namespace?: string } = {}): Promise<PlayStats> {
    if (bus.clock.simulated) throw new Error("playRealTime needs a LocalBus with a real clock; use playSimulated on a simulated one");
    const { graph, tracks } = this.attach(bus, options.namespace ?? "/");
    const signal = options.signal;
    let offsetNs = bus.clock.nowNs() - this.firstNs;
    let messages = 0;
    let maxLateMs = 0;
    let passes = 0;
    let lastBagTimeNs = this.firstNs;
    try {
      do {
        passes++;
        for await (const recorded of this.bag.messages({ topics: [...tracks.keys()] })) {
          if (signal?.aborted === true) break;
          const dueNs = recorded.logTimeNs + offsetNs;
          const waitMs = Number(dueNs - bus.clock.nowNs()) / 1e6;
          if (waitMs > 0) {
            try {
              await sleep(waitMs, undefined, signal !== undefined ? { signal } : {});
            } catch {
              break; // aborted while waiting
            }
          } else {
            maxLateMs = Math.max(maxLateMs, -waitMs);
          }
          const track = tracks.get(recorded.topic)!;
          const message = normalizeMessage(track.type, recorded.message) as { header?: { stamp: RosTime } };
          if (message.header !== undefined) message.header.stamp = timeFromNs(nsFromTime(message.header.stamp) + offsetNs);
          track.publisher.publish(message);
          messages++;
          lastBagTimeNs = recorded.logTimeNs;
          options.onMessage?.(track.publisher.topic, dueNs);
        }
        offsetNs += this.durationNs + LOOP_GAP_NS;
      } while (options.loop === true && signal?.aborted !== true);
    } finally {
      graph.destroy();
    }
    return { messages, lastBagTimeNs, maxLateMs, passes };
  }
}
