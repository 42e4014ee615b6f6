/**
 * The in-process graph: topics with the QoS semantics that matter (keep-last depth dropping the oldest,
 * transient-local history for late subscribers, best-effort publishers not reaching reliable
 * subscriptions, one type per topic), timers, and a real or simulated clock.
 *
 * With a real clock, deliveries and timers run from the event loop. With a simulated clock nothing moves
 * until `advanceTo`/`advanceBy`: timers fire in time order, every message published is delivered before
 * time moves on, and promise-returning callbacks are awaited, so a replay is deterministic.
 *
 * Once a graph is destroyed or its bus closed, calls on it are inert (publishes dropped, new entities idle), as on
 * a RosGraph whose node shut down: a node still starting when it is stopped needs no special case.
 */
import type { z } from "zod";
import { InputError } from "../errors.js";
import { RealClock, SimulatedClock, type Clock } from "./clock.js";
import type { Graph, Logger, ParametersChangedCallback, Publisher, Service, ServiceHandler, Subscription, Timer } from "./graph.js";
import type { MessageOf, MessageTypeName, ServiceRequestOf, ServiceResponseOf, ServiceTypeName } from "../msgs/messages.js";
import { LocalServiceRegistry } from "./local-services.js";
import { absoluteNamespace, expandTopicName, remapTopic, validNodeName, type TopicRemap } from "./names.js";
import { ParameterStore, fullyQualifiedName, namesAddressedTo, resolveOverrides, unknownParameterWarnings, type ParamsFileEntry } from "./parameters.js";
import { resolveQos, type QosOption, type QosProfile } from "./qos.js";

export type LogLevel = "debug" | "info" | "warn" | "error";
const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** Where log lines go; the default writes `[level] [/ns/node] message` to stderr. */
export type LogSink = (level: LogLevel, node: string, message: string) => void;

const stderrSink: LogSink = (level, node, message) => {
  process.stderr.write(`[${level.toUpperCase()}] [${node}] ${message}\n`);
};

export interface LocalBusOptions {
  /** `"real"` (default) or a simulated clock (a start time in ns, or the clock itself). */
  clock?: "real" | SimulatedClock | bigint;
  /** Params-file sections every node on this bus resolves its parameters from (ROS matching rules). */
  params?: readonly ParamsFileEntry[];
  /** Topic remaps applied to every node (`node:` rules only to that node). */
  remaps?: readonly TopicRemap[];
  logLevel?: LogLevel;
  logSink?: LogSink;
}

interface TopicState {
  type: MessageTypeName;
  subscriptions: Set<LocalSubscription>;
  /** Transient-local history per publisher, newest last. */
  latched: Map<LocalPublisher, unknown[]>;
}

type Callback = (message: unknown) => void | Promise<void>;

class LocalSubscription implements Subscription {
  readonly queue: unknown[] = [];
  destroyed = false;

  constructor(
    readonly bus: LocalBus,
    readonly topic: string,
    readonly qos: QosProfile,
    readonly callback: Callback,
  ) {}

  destroy(): void {
    this.destroyed = true;
    this.queue.length = 0;
    this.bus.removeSubscription(this);
  }
}

class LocalPublisher implements Publisher<unknown> {
  private warnedIncompatible = false;

  constructor(
    readonly bus: LocalBus,
    readonly topic: string,
    readonly qos: QosProfile,
    readonly logger: Logger,
  ) {}

  /** Set when the graph that made it is destroyed. */
  retired = false;

  publish(message: unknown): void {
    if (!this.retired) this.bus.deliver(this, message);
  }

  warnIncompatible(): void {
    if (this.warnedIncompatible) return;
    this.warnedIncompatible = true;
    this.logger.warn(`best-effort publisher on '${this.topic}' does not reach its reliable subscriptions (incompatible QoS, as in DDS)`);
  }
}

interface TimerEntry {
  periodNs: bigint;
  nextNs: bigint;
  callback: () => void | Promise<void>;
  cancelled: boolean;
  handle?: NodeJS.Timeout;
  immediate?: NodeJS.Immediate;
  order: number;
}

/** How long before a real-clock timer's due time setTimeout wakes it (then event-loop turns up to the time). */
const PRECISE_WAKE_MS = 1;

export class LocalBus {
  readonly clock: Clock;
  private readonly topics = new Map<string, TopicState>();
  private readonly pending: LocalSubscription[] = [];
  private readonly timers = new Set<TimerEntry>();
  private readonly graphs = new Set<LocalGraph>();
  private drainScheduled = false;
  private timerOrder = 0;
  private readonly logLevel: LogLevel;
  readonly logSink: LogSink;
  private readonly params: readonly ParamsFileEntry[];
  private readonly remaps: readonly TopicRemap[];
  /** Errors thrown by callbacks on a real clock (logged; a simulated clock rethrows them instead). */
  readonly callbackErrors: unknown[] = [];
  /** The services every graph on this bus offers, by resolved name. */
  readonly services = new LocalServiceRegistry();
  private isClosed = false;

  constructor(options: LocalBusOptions = {}) {
    const clock = options.clock ?? "real";
    this.clock = clock === "real" ? new RealClock() : typeof clock === "bigint" ? new SimulatedClock(clock) : clock;
    this.params = options.params ?? [];
    this.remaps = options.remaps ?? [];
    this.logLevel = options.logLevel ?? "info";
    this.logSink = options.logSink ?? stderrSink;
  }

  /** A graph for one node on this bus. `parameters` override the params-file values. */
  createGraph(nodeName: string, options: { namespace?: string; parameters?: Record<string, unknown> } = {}): LocalGraph {
    const graph = new LocalGraph(this, nodeName, absoluteNamespace(options.namespace ?? "/"), options.parameters ?? {});
    this.graphs.add(graph);
    return graph;
  }

  /** Parameter values from the bus's params-file sections for a node. */
  overridesFor(fullyQualified: string): Record<string, unknown> {
    return resolveOverrides(this.params, fullyQualified);
  }

  /** Parameter names the bus's params-file sections address to this node itself (not shared `/**` ones). */
  namesAddressedTo(fullyQualified: string): string[] {
    return namesAddressedTo(this.params, fullyQualified);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get topicRemaps(): readonly TopicRemap[] {
    return this.remaps;
  }

  shouldLog(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(this.logLevel);
  }

  private topicState(topic: string, type: MessageTypeName): TopicState {
    let state = this.topics.get(topic);
    if (state === undefined) {
      state = { type, subscriptions: new Set(), latched: new Map() };
      this.topics.set(topic, state);
    } else if (state.type !== type) {
      throw new InputError(`topic '${topic}' carries ${state.type}; cannot use it as ${type}`);
    }
    return state;
  }

  addPublisher(topic: string, type: MessageTypeName, qos: QosProfile, logger: Logger): LocalPublisher {
    this.topicState(topic, type);
    return new LocalPublisher(this, topic, qos, logger);
  }

  addSubscription(topic: string, type: MessageTypeName, qos: QosProfile, callback: Callback): LocalSubscription {
    const state = this.topicState(topic, type);
    const subscription = new LocalSubscription(this, topic, qos, callback);
    state.subscriptions.add(subscription);
    if (qos.durability === "transient_local") {
      for (const [publisher, history] of state.latched) {
        if (!compatible(publisher.qos, qos)) continue;
        for (const message of history) this.enqueue(subscription, message);
      }
    }
    return subscription;
  }

  removeSubscription(subscription: LocalSubscription): void {
    this.topics.get(subscription.topic)?.subscriptions.delete(subscription);
  }

  deliver(publisher: LocalPublisher, message: unknown): void {
    const state = this.topics.get(publisher.topic)!;
    if (publisher.qos.durability === "transient_local") {
      const history = state.latched.get(publisher) ?? [];
      history.push(message);
      if (history.length > publisher.qos.depth) history.shift();
      state.latched.set(publisher, history);
    }
    for (const subscription of state.subscriptions) {
      if (compatible(publisher.qos, subscription.qos)) this.enqueue(subscription, message);
      else publisher.warnIncompatible();
    }
  }

  private enqueue(subscription: LocalSubscription, message: unknown): void {
    subscription.queue.push(message);
    // Keep-last: the oldest message is dropped; its pending slot then delivers the next one.
    if (subscription.queue.length > subscription.qos.depth) subscription.queue.shift();
    else this.pending.push(subscription);
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.clock.simulated || this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      void this.flush();
    });
  }

  /**
   * Delivers every queued message, including those published by the callbacks themselves, until none is
   * left. On a simulated clock each callback is awaited and an error it throws is rethrown here.
   */
  async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const subscription = this.pending.shift()!;
      if (subscription.destroyed || subscription.queue.length === 0) continue;
      const message = subscription.queue.shift();
      await this.invoke(() => subscription.callback(message), `subscription on '${subscription.topic}'`);
    }
  }

  private async invoke(callback: () => void | Promise<void>, what: string): Promise<void> {
    if (this.clock.simulated) {
      await callback();
      return;
    }
    try {
      const result = callback();
      if (result instanceof Promise) result.catch((error: unknown) => this.reportCallbackError(error, what));
    } catch (error) {
      this.reportCallbackError(error, what);
    }
  }

  private reportCallbackError(error: unknown, what: string): void {
    this.callbackErrors.push(error);
    this.logSink("error", "local_bus", `${what} threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }

  addTimer(periodNs: bigint, callback: () => void | Promise<void>): TimerEntry {
    if (periodNs <= 0n) throw new InputError(`timer period must be positive, got ${periodNs} ns`);
    const entry: TimerEntry = { periodNs, nextNs: this.clock.nowNs() + periodNs, callback, cancelled: this.isClosed, order: this.timerOrder++ };
    if (this.isClosed) return entry;
    this.timers.add(entry);
    if (!this.clock.simulated) this.armRealTimer(entry);
    return entry;
  }

  private armRealTimer(entry: TimerEntry): void {
    // Schedule against absolute due times so the period does not drift with callback duration. setTimeout
    // counts whole milliseconds and fires up to one early or late: wake a little before the due time and
    // finish on event-loop turns (which still serve I/O), so a tick is neither early nor a millisecond late.
    const delayMs = Number(entry.nextNs - this.clock.nowNs()) / 1e6 - PRECISE_WAKE_MS;
    entry.handle = setTimeout(() => this.fireWhenDue(entry), Math.max(0, delayMs));
  }

  private fireWhenDue(entry: TimerEntry): void {
    if (entry.cancelled) return;
    const now = this.clock.nowNs();
    if (now < entry.nextNs) {
      entry.immediate = setImmediate(() => this.fireWhenDue(entry));
      return;
    }
    entry.nextNs += entry.periodNs;
    if (entry.nextNs <= now) entry.nextNs = now + entry.periodNs; // fell behind: skip missed ticks
    this.armRealTimer(entry);
    void this.invoke(entry.callback, "timer");
  }

  cancelTimer(entry: TimerEntry): void {
    entry.cancelled = true;
    if (entry.handle !== undefined) clearTimeout(entry.handle);
    if (entry.immediate !== undefined) clearImmediate(entry.immediate);
    this.timers.delete(entry);
  }

  private get simulatedClock(): SimulatedClock {
    if (!(this.clock instanceof SimulatedClock)) throw new Error("advanceTo/advanceBy need a LocalBus with a simulated clock");
    return this.clock;
  }

  /** Simulated clock: fires every timer due up to `timeNs` in time order, delivering messages in between. */
  async advanceTo(timeNs: bigint): Promise<void> {
    const clock = this.simulatedClock;
    await this.flush();
    for (;;) {
      let due: TimerEntry | undefined;
      for (const entry of this.timers) {
        if (entry.nextNs > timeNs) continue;
        if (due === undefined || entry.nextNs < due.nextNs || (entry.nextNs === due.nextNs && entry.order < due.order)) due = entry;
      }
      if (due === undefined) break;
      clock.set(due.nextNs);
      due.nextNs += due.periodNs;
      await this.invoke(due.callback, "timer");
      await this.flush();
    }
    clock.set(timeNs);
    await this.flush();
  }

  async advanceBy(durationNs: bigint): Promise<void> {
    await this.advanceTo(this.clock.nowNs() + durationNs);
  }

  /** Cancels every timer and subscription (the graphs' nodes should be shut down first). */
  close(): void {
    this.isClosed = true;
    for (const entry of [...this.timers]) this.cancelTimer(entry);
    for (const state of this.topics.values()) for (const subscription of [...state.subscriptions]) subscription.destroy();
    this.pending.length = 0;
    this.services.clear();
    this.graphs.clear();
  }
}

/** DDS request/offer matching for reliability; durability mismatches still deliver live messages. */
function compatible(offered: QosProfile, requested: QosProfile): boolean {
  return !(offered.reliability === "best_effort" && requested.reliability === "reliable");
}

export class LocalGraph implements Graph {
  readonly logger: Logger;
  private parameterStore?: ParameterStore<z.ZodObject>;
  private readonly changeCallbacks: Array<ParametersChangedCallback<unknown>> = [];
  private readonly ownTimers = new Set<TimerEntry>();
  private readonly ownSubscriptions = new Set<LocalSubscription>();
  private readonly ownServices = new Set<Service>();
  private readonly ownPublishers = new Set<LocalPublisher>();
  private destroyed = false;

  constructor(
    readonly bus: LocalBus,
    readonly nodeName: string,
    readonly namespace: string,
    private readonly parameterOverrides: Record<string, unknown>,
  ) {
    validNodeName(nodeName);
    if (absoluteNamespace(namespace) !== namespace) throw new InputError(`namespace '${namespace}': expected it absolute, as '${absoluteNamespace(namespace)}'`);
    const name = fullyQualifiedName(namespace, nodeName);
    const log = (level: LogLevel) => (message: string) => {
      if (bus.shouldLog(level)) bus.logSink(level, name, message);
    };
    this.logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
  }

  get fullyQualifiedName(): string {
    return fullyQualifiedName(this.namespace, this.nodeName);
  }

  resolveTopic(topic: string): string {
    return remapTopic(expandTopicName(topic, this.nodeName, this.namespace), this.bus.topicRemaps, this.nodeName, this.namespace);
  }

  private get inert(): boolean {
    return this.destroyed || this.bus.closed;
  }

  createPublisher<N extends MessageTypeName>(type: N, topic: string, qos: QosOption): Publisher<MessageOf<N>> {
    const resolved = this.resolveTopic(topic);
    if (this.inert) return { topic: resolved, publish: () => {} };
    const publisher = this.bus.addPublisher(resolved, type, resolveQos(qos), this.logger);
    this.ownPublishers.add(publisher);
    return publisher as Publisher<MessageOf<N>>;
  }

  createSubscription<N extends MessageTypeName>(type: N, topic: string, qos: QosOption, callback: (message: MessageOf<N>) => void | Promise<void>): Subscription {
    const resolved = this.resolveTopic(topic);
    if (this.inert) return { topic: resolved, destroy: () => {} };
    const subscription = this.bus.addSubscription(resolved, type, resolveQos(qos), callback as Callback);
    this.ownSubscriptions.add(subscription);
    return subscription;
  }

  createService<S extends ServiceTypeName>(type: S, name: string, handler: ServiceHandler<S>): Service {
    const service = this.bus.services.add(type, this.resolveTopic(name), handler);
    this.ownServices.add(service);
    return service;
  }

  /** Calls a service on this bus, its name resolved from this node (what a client node does on ROS). */
  callService<S extends ServiceTypeName>(type: S, name: string, request: ServiceRequestOf<S>): Promise<ServiceResponseOf<S>> {
    return this.bus.services.call(type, this.resolveTopic(name), request);
  }

  createTimer(periodNs: bigint, callback: () => void | Promise<void>): Timer {
    if (this.inert) {
      if (periodNs <= 0n) throw new InputError(`timer period must be positive, got ${periodNs} ns`);
      return { periodNs, cancel: () => {} };
    }
    const entry = this.bus.addTimer(periodNs, callback);
    this.ownTimers.add(entry);
    return {
      periodNs,
      cancel: () => {
        this.bus.cancelTimer(entry);
        this.ownTimers.delete(entry);
      },
    };
  }

  nowNs(): bigint {
    return this.bus.clock.nowNs();
  }

  declareParameters<S extends z.ZodObject>(schema: S): z.infer<S> {
    const values = { ...this.bus.overridesFor(this.fullyQualifiedName), ...this.parameterOverrides };
    const addressed = [...this.bus.namesAddressedTo(this.fullyQualifiedName), ...Object.keys(this.parameterOverrides)];
    for (const warning of unknownParameterWarnings(schema, addressed, this.fullyQualifiedName)) this.logger.warn(warning);
    const store = new ParameterStore(schema, values, `parameters of node '${this.fullyQualifiedName}'`);
    store.onChanged((all, changed) => {
      for (const callback of this.changeCallbacks) callback(all, changed);
    });
    this.parameterStore = store as unknown as ParameterStore<z.ZodObject>;
    return store.values;
  }

  onParametersChanged<P>(callback: ParametersChangedCallback<P>): void {
    this.changeCallbacks.push(callback as ParametersChangedCallback<unknown>);
  }

  /** Changes parameters at run time (what `ros2 param set` does on a RosGraph). */
  setParameters(changes: Record<string, unknown>): { successful: true } | { successful: false; reason: string } {
    if (this.parameterStore === undefined) return { successful: false, reason: `node '${this.fullyQualifiedName}' has declared no parameters` };
    return this.parameterStore.trySet(changes);
  }

  /** Cancels this node's timers and subscriptions. */
  destroy(): void {
    this.destroyed = true;
    for (const entry of this.ownTimers) this.bus.cancelTimer(entry);
    for (const subscription of this.ownSubscriptions) subscription.destroy();
    for (const service of this.ownServices) service.destroy();
    for (const publisher of this.ownPublishers) publisher.retired = true;
    this.ownTimers.clear();
    this.ownSubscriptions.clear();
    this.ownServices.clear();
    this.ownPublishers.clear();
  }
}
