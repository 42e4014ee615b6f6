/**
 * Runs a node in a worker thread attached to a LocalBus with a real clock, so a node that blocks its
 * thread (the policy's `session.run()`) cannot delay the others' timers. Topics cross the thread boundary
 * as structured-clone messages: the worker's publishers and subscriptions are mirrored on the bus by the
 * main thread, and each node keeps its own keep-last queue semantics there.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import type { z } from "zod";
import { InputError } from "../errors.js";
import { RealClock } from "./clock.js";
import type { Graph, Logger, NodeDefinition, NodeHandle, ParametersChangedCallback, Publisher, Service, ServiceHandler, Subscription, Timer } from "./graph.js";
import type { LocalBus, LogLevel } from "./local-graph.js";
import type { MessageOf, MessageTypeName, ServiceTypeName } from "../msgs/messages.js";
import { absoluteNamespace, expandTopicName, remapTopic, type TopicRemap } from "./names.js";
import { ParameterStore, fullyQualifiedName, unknownParameterWarnings } from "./parameters.js";
import { resolveQos, type QosOption } from "./qos.js";

/** Where the worker finds the node definition: a module and the property path to it. */
export interface NodeModuleRef {
  moduleUrl: string;
  exportPath: string[];
}

interface WorkerInit {
  nodeModule: NodeModuleRef;
  nodeName: string;
  namespace: string;
  parameters: Record<string, unknown>;
  /** The parameter names addressed to this node itself, checked against its schema. */
  addressedNames: string[];
  remaps: TopicRemap[];
}

type ToMain =
  | { kind: "publisher"; id: number; type: MessageTypeName; topic: string; qos: QosOption }
  | { kind: "publish"; id: number; message: unknown }
  | { kind: "subscription"; id: number; type: MessageTypeName; topic: string; qos: QosOption }
  | { kind: "unsubscribe"; id: number }
  | { kind: "delivered"; id: number }
  | { kind: "service"; id: number; type: ServiceTypeName; name: string }
  | { kind: "unservice"; id: number }
  | { kind: "service_response"; callId: number; response: unknown }
  | { kind: "service_failed"; callId: number; message: string }
  | { kind: "log"; level: LogLevel; message: string }
  | { kind: "ready" }
  | { kind: "failed"; message: string; inputError: boolean }
  | { kind: "stopped" };

type ToWorker = { kind: "message"; id: number; message: unknown } | { kind: "request"; id: number; callId: number; request: unknown } | { kind: "shutdown" };

/** A node running in a worker thread, seen from the main thread. */
export interface WorkerNode {
  readonly nodeName: string;
  /** Resolves once the node's `create` returned; rejects with its error. */
  readonly ready: Promise<void>;
  shutdown(): Promise<void>;
}

function createWorker(init: WorkerInit): Worker {
  // Under the TypeScript sources (tests, tsx) the worker registers the same loader before the entry;
  // built code starts the plain JavaScript entry.
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./local-worker-entry.js", import.meta.url), { workerData: init });
  const entry = new URL("./local-worker-entry.ts", import.meta.url).href;
  // tsx's ESM API, resolved here: a data: URL worker cannot resolve bare specifiers.
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href;
  const bootstrap = `(await import(${JSON.stringify(tsxApi)})).register(); await import(${JSON.stringify(entry)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), { workerData: init });
}

export function startWorkerNode(bus: LocalBus, nodeModule: NodeModuleRef, nodeName: string, options: { namespace?: string; parameters?: Record<string, unknown> } = {}): WorkerNode {
  if (bus.clock.simulated) throw new InputError(`node '${nodeName}': worker threads need a real clock; on a simulated clock run it in-process`);
  const namespace = absoluteNamespace(options.namespace ?? "/");
  // The proxy graph owns the bus-side publishers and subscriptions of the worker's node. Made first: a bad
  // name fails here, before a thread exists that would keep the process alive.
  const proxy = bus.createGraph(nodeName, { namespace });
  const fqn = fullyQualifiedName(namespace, nodeName);
  const init: WorkerInit = {
    nodeModule,
    nodeName,
    namespace,
    parameters: { ...bus.overridesFor(fqn), ...(options.parameters ?? {}) },
    addressedNames: [...bus.namesAddressedTo(fqn), ...Object.keys(options.parameters ?? {})],
    remaps: [...bus.topicRemaps],
  };
  const worker = createWorker(init);
  const publishers = new Map<number, Publisher<unknown>>();
  const subscriptions = new Map<number, Subscription>();
  // One message per subscription in flight to the worker; the rest wait here, keep-last, so a worker
  // blocked in inference gets the freshest messages afterwards, not a backlog.
  const waiting = new Map<number, { queue: unknown[]; depth: number; inFlight: boolean }>();
  const sendNext = (id: number): void => {
    const state = waiting.get(id);
    if (state === undefined || state.inFlight || state.queue.length === 0) return;
    state.inFlight = true;
    worker.postMessage({ kind: "message", id, message: state.queue.shift() } satisfies ToWorker);
  };
  // Service requests cross to the worker and their responses come back by call id.
  const services = new Map<number, Service>();
  const calls = new Map<number, { resolve(response: unknown): void; reject(error: Error): void }>();
  let nextCallId = 1;
  let settled = false;
  let resolveReady!: () => void;
  let rejectReady!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));

  worker.on("message", (message: ToMain) => {
    switch (message.kind) {
      case "publisher":
        publishers.set(message.id, proxy.createPublisher(message.type, message.topic, message.qos) as Publisher<unknown>);
        break;
      case "publish":
        publishers.get(message.id)?.publish(message.message);
        break;
      case "subscription": {
        const state = { queue: [] as unknown[], depth: resolveQos(message.qos).depth, inFlight: false };
        waiting.set(message.id, state);
        subscriptions.set(
          message.id,
          proxy.createSubscription(message.type, message.topic, message.qos, (payload) => {
            state.queue.push(payload);
            if (state.queue.length > state.depth) state.queue.shift();
            sendNext(message.id);
          }),
        );
        break;
      }
      case "delivered": {
        const state = waiting.get(message.id);
        if (state !== undefined) state.inFlight = false;
        sendNext(message.id);
        break;
      }
      case "service":
        services.set(
          message.id,
          proxy.createService(
            message.type,
            message.name,
            (request) =>
              new Promise((resolve, reject) => {
                const callId = nextCallId++;
                calls.set(callId, { resolve: resolve as (response: unknown) => void, reject });
                worker.postMessage({ kind: "request", id: message.id, callId, request } satisfies ToWorker);
              }),
          ),
        );
        break;
      case "unservice":
        services.get(message.id)?.destroy();
        services.delete(message.id);
        break;
      case "service_response":
        calls.get(message.callId)?.resolve(message.response);
        calls.delete(message.callId);
        break;
      case "service_failed":
        calls.get(message.callId)?.reject(new Error(message.message));
        calls.delete(message.callId);
        break;
      case "unsubscribe":
        subscriptions.get(message.id)?.destroy();
        subscriptions.delete(message.id);
        waiting.delete(message.id);
        break;
      case "log":
        proxy.logger[message.level](message.message);
        break;
      case "ready":
        settled = true;
        resolveReady();
        break;
      case "failed":
        settled = true;
        rejectReady(message.inputError ? new InputError(message.message) : new Error(message.message));
        break;
      case "stopped":
        resolveStopped();
        break;
    }
  });
  worker.on("error", (error) => {
    proxy.logger.error(`worker thread failed: ${error.stack ?? error.message}`);
    if (!settled) rejectReady(error);
    settled = true;
  });
  worker.on("exit", () => {
    proxy.destroy();
    if (!settled) rejectReady(new Error(`node '${nodeName}': its worker thread exited before the node started`));
    resolveStopped();
  });

  return {
    nodeName,
    ready,
    shutdown: async () => {
      worker.postMessage({ kind: "shutdown" } satisfies ToWorker);
      const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 5_000).unref());
      if ((await Promise.race([stopped, timeout])) === "timeout") proxy.logger.warn("did not stop within 5 s; terminating its thread");
      await worker.terminate();
      proxy.destroy();
    },
  };
}

/** The Graph a node sees inside its worker thread. */
class WorkerGraph implements Graph {
  readonly logger: Logger;
  private readonly clock = new RealClock();
  private nextId = 1;
  private readonly callbacks = new Map<number, (message: unknown) => void | Promise<void>>();
  private readonly serviceHandlers = new Map<number, (request: unknown) => unknown>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly changeCallbacks: Array<ParametersChangedCallback<unknown>> = [];
  /** Set when the node is stopped: later calls are inert, as on every graph. */
  private stopped = false;

  constructor(
    private readonly init: WorkerInit,
    private readonly post: (message: ToMain) => void,
  ) {
    const log = (level: LogLevel) => (message: string) => post({ kind: "log", level, message });
    this.logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
  }

  get nodeName(): string {
    return this.init.nodeName;
  }

  get namespace(): string {
    return this.init.namespace;
  }

  resolveTopic(topic: string): string {
    return remapTopic(expandTopicName(topic, this.nodeName, this.namespace), this.init.remaps, this.nodeName, this.namespace);
  }

  createPublisher<N extends MessageTypeName>(type: N, topic: string, qos: QosOption): Publisher<MessageOf<N>> {
    const id = this.nextId++;
    const resolved = this.resolveTopic(topic);
    this.post({ kind: "publisher", id, type, topic: resolved, qos });
    return { topic: resolved, publish: (message) => this.post({ kind: "publish", id, message }) };
  }

  createSubscription<N extends MessageTypeName>(type: N, topic: string, qos: QosOption, callback: (message: MessageOf<N>) => void | Promise<void>): Subscription {
    const id = this.nextId++;
    const resolved = this.resolveTopic(topic);
    this.callbacks.set(id, callback as (message: unknown) => void | Promise<void>);
    this.post({ kind: "subscription", id, type, topic: resolved, qos });
    return {
      topic: resolved,
      destroy: () => {
        this.callbacks.delete(id);
        this.post({ kind: "unsubscribe", id });
      },
    };
  }

  deliver(id: number, message: unknown): void {
    const callback = this.callbacks.get(id);
    try {
      const result = callback?.(message);
      if (result instanceof Promise) result.catch((error: unknown) => this.logger.error(`subscription callback failed: ${describeError(error)}`));
    } catch (error) {
      this.logger.error(`subscription callback failed: ${describeError(error)}`);
    } finally {
      this.post({ kind: "delivered", id });
    }
  }

  createService<S extends ServiceTypeName>(type: S, name: string, handler: ServiceHandler<S>): Service {
    const id = this.nextId++;
    const resolved = this.resolveTopic(name);
    this.serviceHandlers.set(id, handler as (request: unknown) => unknown);
    this.post({ kind: "service", id, type, name: resolved });
    return {
      name: resolved,
      destroy: () => {
        this.serviceHandlers.delete(id);
        this.post({ kind: "unservice", id });
      },
    };
  }

  serve(id: number, callId: number, request: unknown): void {
    const handler = this.serviceHandlers.get(id);
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error("the service was destroyed");
        return handler(request);
      })
      .then(
        (response) => this.post({ kind: "service_response", callId, response }),
        (error: unknown) => this.post({ kind: "service_failed", callId, message: error instanceof Error ? error.message : String(error) }),
      );
  }

  createTimer(periodNs: bigint, callback: () => void | Promise<void>): Timer {
    if (periodNs <= 0n) throw new InputError(`timer period must be positive, got ${periodNs} ns`);
    if (this.stopped) return { periodNs, cancel: () => {} };
    const handle = setInterval(() => {
      try {
        const result = callback();
        if (result instanceof Promise) result.catch((error: unknown) => this.logger.error(`timer callback failed: ${describeError(error)}`));
      } catch (error) {
        this.logger.error(`timer callback failed: ${describeError(error)}`);
      }
    }, Number(periodNs) / 1e6);
    this.timers.add(handle);
    return {
      periodNs,
      cancel: () => {
        clearInterval(handle);
        this.timers.delete(handle);
      },
    };
  }

  nowNs(): bigint {
    return this.clock.nowNs();
  }

  declareParameters<S extends z.ZodObject>(schema: S): z.infer<S> {
    const fqn = fullyQualifiedName(this.namespace, this.nodeName);
    for (const warning of unknownParameterWarnings(schema, this.init.addressedNames, fqn)) this.logger.warn(warning);
    const store = new ParameterStore(schema, this.init.parameters, `parameters of node '${fqn}'`);
    store.onChanged((all, changed) => {
      for (const callback of this.changeCallbacks) callback(all, changed);
    });
    return store.values;
  }

  onParametersChanged<P>(callback: ParametersChangedCallback<P>): void {
    this.changeCallbacks.push(callback as ParametersChangedCallback<unknown>);
  }

  stopTimers(): void {
    this.stopped = true;
    for (const handle of this.timers) clearInterval(handle);
    this.timers.clear();
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** The worker thread's side: loads the node definition, runs it, stops it on request. */
export async function runWorkerNode(): Promise<void> {
  if (isMainThread || parentPort === null) throw new Error("runWorkerNode runs inside a worker thread");
  const port = parentPort;
  const init = workerData as WorkerInit;
  let portOpen = true;
  // Nothing goes out once the port is closed (a node still starting when it was stopped).
  const post = (message: ToMain): void => {
    if (portOpen) port.postMessage(message);
  };
  const closePort = (): void => {
    portOpen = false;
    port.close();
  };
  const graph = new WorkerGraph(init, post);
  let handle: NodeHandle | undefined;
  port.on("message", (message: ToWorker) => {
    if (message.kind === "message") graph.deliver(message.id, message.message);
    else if (message.kind === "request") graph.serve(message.id, message.callId, message.request);
    else if (message.kind === "shutdown") {
      void (async () => {
        try {
          await handle?.shutdown();
        } catch (error) {
          graph.logger.error(`shutdown failed: ${describeError(error)}`);
        }
        graph.stopTimers();
        post({ kind: "stopped" });
        closePort();
      })();
    }
  });
  try {
    let target: unknown = await import(init.nodeModule.moduleUrl);
    for (const key of init.nodeModule.exportPath) target = (target as Record<string, unknown>)[key];
    const definition = target as NodeDefinition | undefined;
    if (definition === undefined || typeof definition.create !== "function") {
      throw new Error(`no node definition at ${init.nodeModule.exportPath.join(".")} in ${init.nodeModule.moduleUrl}`);
    }
    const parameters = graph.declareParameters(definition.parameters);
    handle = await definition.create(graph, parameters);
    // Stopped while it was starting: it stops now that it can.
    if (!portOpen) await handle.shutdown();
    post({ kind: "ready" });
  } catch (error) {
    post({ kind: "failed", message: error instanceof Error ? error.message : String(error), inputError: error instanceof InputError });
    graph.stopTimers();
    closePort();
  }
}
