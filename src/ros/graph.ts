/**
 * The small interface every node talks to. Node logic never imports rclnodejs: `RosGraph` implements this
 * on rclnodejs 2.x, `LocalGraph` in-process (tests, demo, replay on a simulated clock).
 */
import type { z } from "zod";
import type { MessageTypeName, MessageOf, ServiceRequestOf, ServiceResponseOf, ServiceTypeName } from "../msgs/messages.js";
import type { QosOption } from "./qos.js";

export interface Publisher<T> {
  readonly topic: string;
  publish(message: T): void;
}

export interface Subscription {
  readonly topic: string;
  destroy(): void;
}

export interface Service {
  /** The fully resolved service name (`/so100/so100_controller/enable_torque`). */
  readonly name: string;
  destroy(): void;
}

/**
 * Answers one request. A handler that throws (or rejects) sends no response, as on ROS: handlers of
 * services with a success field report failures there instead.
 */
export type ServiceHandler<S extends ServiceTypeName> = (request: ServiceRequestOf<S>) => ServiceResponseOf<S> | Promise<ServiceResponseOf<S>>;

export interface Timer {
  readonly periodNs: bigint;
  cancel(): void;
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Called with the whole validated parameter object after a change was accepted. */
export type ParametersChangedCallback<P> = (parameters: P, changedNames: string[]) => void;

export interface Graph {
  /** The node's name, without namespace (`policy`). */
  readonly nodeName: string;
  /** The node's namespace, `/` or `/so100`. */
  readonly namespace: string;
  /** Expands `~/x`, `x` and `/x` as ROS does, with this node's remappings applied. */
  resolveTopic(topic: string): string;

  createPublisher<N extends MessageTypeName>(type: N, topic: string, qos: QosOption): Publisher<MessageOf<N>>;
  /** The callback may return a promise: a simulated clock waits for it, a real one does not. */
  createSubscription<N extends MessageTypeName>(
    type: N,
    topic: string,
    qos: QosOption,
    callback: (message: MessageOf<N>) => void | Promise<void>,
  ): Subscription;
  /** Offers a service; its name resolves as a topic's does (`~/enable_torque` is under the node's name). */
  createService<S extends ServiceTypeName>(type: S, name: string, handler: ServiceHandler<S>): Service;
  /** A timer on the node's clock (simulated time when the clock is simulated or `use_sim_time` is set). */
  createTimer(periodNs: bigint, callback: () => void | Promise<void>): Timer;
  /** Current time on the node's clock, nanoseconds since the epoch (or since the simulation started). */
  nowNs(): bigint;

  /**
   * Declares the node's parameters from its zod schema and returns their validated values (defaults,
   * overridden by the params file). A value that fails the schema is an `InputError` naming the parameter.
   */
  declareParameters<S extends z.ZodObject>(schema: S): z.infer<S>;
  /** Registers a callback for accepted changes; a change that fails the schema is rejected before it. */
  onParametersChanged<P>(callback: ParametersChangedCallback<P>): void;

  readonly logger: Logger;
}

/** What a node's `create` returns: how to stop it. */
export interface NodeHandle {
  shutdown(): void | Promise<void>;
}

/**
 * A node of this package: its default name, its parameter schema and how to wire it to a Graph.
 * `blocking` nodes (the policy, whose `session.run()` holds its thread) run in a worker thread on a
 * LocalGraph with a real clock, and always in their own process under ROS.
 */
export interface NodeDefinition<S extends z.ZodObject = z.ZodObject> {
  readonly name: string;
  readonly description: string;
  readonly parameters: S;
  readonly blocking?: boolean;
  create(graph: Graph, parameters: z.infer<S>): NodeHandle | Promise<NodeHandle>;
}

/** Helps TypeScript infer a node definition's parameter type. */
export function defineNode<S extends z.ZodObject>(definition: NodeDefinition<S>): NodeDefinition<S> {
  return definition;
}
