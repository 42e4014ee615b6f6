/**
 * The Graph on ROS 2 through rclnodejs 2.x (Humble, Jazzy, Kilted). rclnodejs is an optional dependency
 * that installs only where ROS 2 is sourced, so it is loaded with a dynamic import.
 *
 * Parameters: rclnodejs 2.2.0 matches `--params-file` sections only by `/**` or the bare node name, so a
 * node started by `ros2 launch` with both `name=` and `namespace=` (whose params launch writes under
 * `/ns/name:`) would silently get none. RosGraph therefore reads the `--ros-args` itself, applies ROS's
 * matching rules (parameters.ts), validates the result with the node's zod schema and declares each
 * parameter with its value and a descriptor (type, description, range) — integers as bigint.
 *
 * Shutdown: a node may still be starting (a model loading) when Ctrl-C shuts rcl down. Every call on a graph
 * whose node or context is gone is then harmless — publishes are dropped, new entities are inert, the clock
 * answers its last reading — so no node needs to know about it.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { z } from "zod";
import { InputError, describeValue } from "../errors.js";
import type { Graph, Logger, ParametersChangedCallback, Publisher, Service, ServiceHandler, Subscription, Timer } from "./graph.js";
import { normalizeMessage, normalizeServiceMessage, type MessageOf, type MessageTypeName, type ServiceTypeName } from "../msgs/messages.js";
import { absoluteNamespace, expandTopicName, remapTopic, validNodeName } from "./names.js";
import {
  ParameterStore,
  describeParameters,
  fullyQualifiedName,
  namesAddressedTo,
  parseParamsFile,
  resolveOverrides,
  unknownParameterWarnings,
  type ParameterKind,
  type ParameterSpec,
  type ParamsFileEntry,
} from "./parameters.js";
import { resolveQos, type QosOption } from "./qos.js";
import { parseRosArgs, type RosArgs } from "./ros-args.js";

/**
 * The part of the rclnodejs 2.x API this adapter uses, checked against rclnodejs's own type declarations
 * in a test (`Options` is rclnodejs's NodeOptions class there).
 */
export interface RclnodejsApi<Options extends RclNodeOptions = RclNodeOptions> {
  init(context?: undefined, argv?: string[]): Promise<void>;
  shutdown(context?: undefined): void;
  isShutdown(): boolean;
  /** Removes the SIGINT handler rclnodejs installs on import (which shuts every context down). */
  removeSignalHandlers(): void;
  Node: new (nodeName: string, namespace?: string, context?: undefined, options?: Options) => RclNode;
  NodeOptions: new () => Options;
  Parameter: new (name: string, type: number, value?: unknown) => RclParameter;
  ParameterDescriptor: new (name: string, type: number, description?: string, readOnly?: boolean, range?: RclRange) => RclParameterDescriptor;
  FloatingPointRange: new (from: number, to: number, step?: number, tolerance?: number) => RclRange;
  IntegerRange: new (from: bigint, to: bigint, step?: bigint) => RclRange;
  QoS: new (history?: number, depth?: number, reliability?: number, durability?: number) => unknown;
}

export interface RclNodeOptions {
  startParameterServices: boolean;
  parameterOverrides: RclParameter[];
  automaticallyDeclareParametersFromOverrides: boolean;
}

/** What a service callback answers through (rclnodejs's ServiceResponse). */
export interface RclServiceResponse {
  send(response: never): void;
}

export interface RclRange {
  readonly fromValue: number;
  readonly toValue: number;
  readonly step: number;
  inRange(value: number): boolean;
  isValidType(parameterType: number): boolean;
}

export interface RclParameterDescriptor {
  /** What describe_parameters answers (rcl_interfaces/msg/ParameterDescriptor). */
  toMessage(): object;
}

export interface RclParameter {
  readonly name: string;
  readonly type: number;
  value: unknown;
}

export interface RclNode {
  name(): string;
  namespace(): string;
  getLogger(): { debug(message: string): unknown; info(message: string): unknown; warn(message: string): unknown; error(message: string): unknown };
  now(): { readonly nanoseconds: bigint };
  createPublisher(typeClass: string, topic: string, options?: { qos?: unknown }): { readonly topic: string; publish(message: unknown): void };
  createSubscription(typeClass: string, topic: string, options: { qos?: unknown }, callback: (message: unknown) => void): unknown;
  destroySubscription(subscription: never): void;
  createTimer(period: bigint, callback: () => void): { cancel(): void };
  createService(typeClass: string, serviceName: string, callback: (request: unknown, response: RclServiceResponse) => void): unknown;
  destroyService(service: never): void;
  declareParameter(parameter: RclParameter, descriptor?: unknown, ignoreOverride?: boolean): RclParameter;
  hasParameter(name: string): boolean;
  setParameter(parameter: RclParameter): { successful: boolean; reason: string };
  addOnSetParametersCallback(callback: (parameters: RclParameter[]) => { successful: boolean; reason: string }): void;
  spin(timeout?: number): void;
  destroy(): void;
}

/** rcl_interfaces/ParameterType values. */
export const PARAMETER_TYPES: Readonly<Record<ParameterKind, number>> = {
  bool: 1,
  integer: 2,
  double: 3,
  string: 4,
  bool_array: 6,
  integer_array: 7,
  double_array: 8,
  string_array: 9,
};

/** rmw QoS policy values (rclnodejs `QoS.HistoryPolicy` etc.). */
const KEEP_LAST = 1;
const RELIABLE = 1;
const BEST_EFFORT = 2;
const TRANSIENT_LOCAL = 1;
const VOLATILE = 2;

const HOW_TO_INSTALL =
  "It installs only where ROS 2 is sourced: `source /opt/ros/<distro>/setup.bash && npm install rclnodejs@2.2.0`, " +
  "or build the package with colcon. Use --graph local to run without ROS.";

/**
 * Why rclnodejs cannot be loaded here, checked before importing it: when its native addon does not load,
 * rclnodejs runs `npm run rebuild`, whose first step deletes the working build of a ROS 2 that merely was
 * not sourced in this shell. Undefined when it can be loaded.
 */
export function rclnodejsUnavailableReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!env.ROS_DISTRO || !env.AMENT_PREFIX_PATH) {
    return "ROS 2 is not sourced in this shell (ROS_DISTRO and AMENT_PREFIX_PATH are unset): source /opt/ros/<distro>/setup.bash and your workspace's install/setup.bash";
  }
  let packageDir: string;
  try {
    packageDir = path.dirname(createRequire(import.meta.url).resolve("rclnodejs/package.json"));
  } catch {
    return `rclnodejs is not installed. ${HOW_TO_INSTALL}`;
  }
  const built = path.join(packageDir, "build/Release/rclnodejs.node");
  const prebuilt = path.join(packageDir, "prebuilds", `${process.platform}-${process.arch}`);
  const hasPrebuilt = existsSync(prebuilt) && readdirSync(prebuilt).some((file) => file.startsWith(`${env.ROS_DISTRO}-`) && file.includes("-node-"));
  if (!existsSync(built) && !hasPrebuilt) {
    return `rclnodejs has no native build for ROS 2 ${env.ROS_DISTRO} (${built} is missing): with ROS 2 sourced, run \`npm rebuild rclnodejs\``;
  }
  return undefined;
}

/** Loads rclnodejs or explains, naming the fix, why it cannot be used here. */
export async function loadRclnodejs(): Promise<RclnodejsApi> {
  const unavailable = rclnodejsUnavailableReason();
  if (unavailable !== undefined) throw new InputError(`--graph ros needs rclnodejs: ${unavailable}`);
  try {
    const imported = (await import("rclnodejs" as string)) as { default?: RclnodejsApi } & RclnodejsApi;
    return imported.default ?? imported;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new InputError(`--graph ros needs rclnodejs, which could not be loaded (${reason}). ${HOW_TO_INSTALL}`);
  }
}

export interface RosGraphOptions {
  /** The node's default name and namespace; `__node:=`/`__ns:=` remaps in argv take precedence. */
  nodeName: string;
  namespace?: string;
  /** The full command line, `--ros-args` included; it is also handed to rcl. */
  argv: string[];
  /** Reads a params file (tests pass their own). */
  readFile?: (path: string) => string;
}

/** Initializes rclnodejs once per process and creates the node. */
export async function createRosGraph<O extends RclNodeOptions>(rclnodejs: RclnodejsApi<O>, options: RosGraphOptions): Promise<RosGraph> {
  const rosArgs = parseRosArgs(options.argv.slice(2));
  if (rclnodejs.isShutdown()) await rclnodejs.init(undefined, options.argv);
  return new RosGraph(rclnodejs as unknown as RclnodejsApi, options, rosArgs);
}

export class RosGraph implements Graph {
  readonly nodeName: string;
  readonly namespace: string;
  readonly logger: Logger;
  readonly node: RclNode;
  private readonly overrides: Record<string, unknown>;
  /** Names this node's own params-file sections and `-p` arguments give it (checked against its schema). */
  private readonly addressedNames: string[];
  private parameterStore?: ParameterStore<z.ZodObject>;
  private specs: ParameterSpec[] = [];
  private readonly changeCallbacks: Array<ParametersChangedCallback<unknown>> = [];
  private destroyed = false;
  private lastNowNs: bigint | undefined;

  constructor(
    private readonly rcl: RclnodejsApi,
    options: RosGraphOptions,
    private readonly rosArgs: RosArgs,
  ) {
    this.nodeName = validNodeName(rosArgs.nodeName ?? options.nodeName);
    this.namespace = absoluteNamespace(rosArgs.namespace ?? options.namespace ?? "/");
    const read = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
    const entries: ParamsFileEntry[] = rosArgs.paramsFiles.flatMap((file) => {
      let text: string;
      try {
        text = read(file);
      } catch (error) {
        throw new InputError(`--params-file ${file}: cannot be read (${error instanceof Error ? error.message : String(error)})`);
      }
      return parseParamsFile(text, file);
    });
    const fqn = fullyQualifiedName(this.namespace, this.nodeName);
    this.overrides = resolveOverrides(entries, fqn);
    this.addressedNames = namesAddressedTo(entries, fqn);
    for (const param of rosArgs.params) {
      if (param.node !== undefined && param.node !== this.nodeName) continue;
      this.overrides[param.name] = param.value;
      this.addressedNames.push(param.name);
    }
    const useSimTime = this.overrides.use_sim_time;
    if (useSimTime !== undefined && typeof useSimTime !== "boolean") throw new InputError(`parameter 'use_sim_time' of node '${fqn}' = ${describeValue(useSimTime)}: expected true or false`);

    const nodeOptions = new rcl.NodeOptions();
    nodeOptions.startParameterServices = true;
    nodeOptions.automaticallyDeclareParametersFromOverrides = false;
    this.node = new rcl.Node(this.nodeName, this.namespace === "/" ? "" : this.namespace, undefined, nodeOptions);
    // use_sim_time arrives under the node's fully qualified key too, which rclnodejs would not see; whatever
    // the files resolve to by ROS's rules wins, false as well (launch's use_sim_time:=false over a file's true).
    if (useSimTime !== undefined) this.node.setParameter(new rcl.Parameter("use_sim_time", PARAMETER_TYPES.bool, useSimTime));
    const rosLogger = this.node.getLogger();
    const log = (level: "debug" | "info" | "warn" | "error") => (message: string) => {
      try {
        rosLogger[level](message);
      } catch {
        // rcl logging is gone with the context: the line still reaches the terminal.
        process.stderr.write(`[${level.toUpperCase()}] [${fqn}] ${message}\n`);
      }
    };
    this.logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
  }

  /** False once the node was destroyed or rcl shut down (Ctrl-C, or the host stopping): calls are then inert. */
  get alive(): boolean {
    return !this.destroyed && !this.rcl.isShutdown();
  }

  resolveTopic(topic: string): string {
    return remapTopic(expandTopicName(topic, this.nodeName, this.namespace), this.rosArgs.remaps, this.nodeName, this.namespace);
  }

  private qos(option: QosOption): unknown {
    const profile = resolveQos(option);
    return new this.rcl.QoS(
      KEEP_LAST,
      profile.depth,
      profile.reliability === "reliable" ? RELIABLE : BEST_EFFORT,
      profile.durability === "transient_local" ? TRANSIENT_LOCAL : VOLATILE,
    );
  }

  createPublisher<N extends MessageTypeName>(type: N, topic: string, qos: QosOption): Publisher<MessageOf<N>> {
    const resolved = this.resolveTopic(topic);
    if (!this.alive) return { topic: resolved, publish: () => {} };
    // rcl applies the command-line remaps itself: hand it the name as the node wrote it.
    const publisher = this.node.createPublisher(type, topic, { qos: this.qos(qos) });
    return {
      topic: resolved,
      publish: (message) => {
        if (this.alive) publisher.publish(message);
      },
    };
  }

  createSubscription<N extends MessageTypeName>(type: N, topic: string, qos: QosOption, callback: (message: MessageOf<N>) => void | Promise<void>): Subscription {
    const resolved = this.resolveTopic(topic);
    if (!this.alive) return { topic: resolved, destroy: () => {} };
    const subscription = this.node.createSubscription(type, topic, { qos: this.qos(qos) }, (raw) => {
      const result = callback(normalizeMessage(type, raw));
      if (result instanceof Promise) result.catch((error: unknown) => this.logger.error(`callback on '${topic}' failed: ${error instanceof Error ? error.message : String(error)}`));
    });
    return {
      topic: resolved,
      destroy: () => {
        if (this.alive) this.node.destroySubscription(subscription as never);
      },
    };
  }

  createService<S extends ServiceTypeName>(type: S, name: string, handler: ServiceHandler<S>): Service {
    // Like topics, rcl resolves the name and applies the command-line remaps itself.
    const service = this.node.createService(type, name, (request, response) => {
      Promise.resolve()
        .then(() => handler(normalizeServiceMessage(type, "request", request)))
        .then(
          (result) => response.send(result as never),
          (error: unknown) => this.logger.error(`service '${name}' failed, no response sent: ${error instanceof Error ? error.message : String(error)}`),
        );
    });
    return { name: this.resolveTopic(name), destroy: () => this.node.destroyService(service as never) };
  }

  createTimer(periodNs: bigint, callback: () => void | Promise<void>): Timer {
    if (periodNs <= 0n) throw new InputError(`timer period must be positive, got ${periodNs} ns`);
    if (!this.alive) return { periodNs, cancel: () => {} };
    const timer = this.node.createTimer(periodNs, () => {
      const result = callback();
      if (result instanceof Promise) result.catch((error: unknown) => this.logger.error(`timer callback failed: ${error instanceof Error ? error.message : String(error)}`));
    });
    return {
      periodNs,
      cancel: () => {
        if (this.alive) timer.cancel();
      },
    };
  }

  nowNs(): bigint {
    if (this.alive) this.lastNowNs = this.node.now().nanoseconds;
    // The clock went with the node: its last reading, or the wall clock if it was never read.
    return this.lastNowNs ?? BigInt(Date.now()) * 1_000_000n;
  }

  declareParameters<S extends z.ZodObject>(schema: S): z.infer<S> {
    const fqn = fullyQualifiedName(this.namespace, this.nodeName);
    for (const warning of unknownParameterWarnings(schema, this.addressedNames, fqn)) this.logger.warn(warning);
    const store = new ParameterStore(schema, this.overrides, `parameters of node '${fqn}'`);
    this.specs = describeParameters(schema);
    if (!this.alive) return store.values;
    const values = store.values as Record<string, unknown>;
    for (const spec of this.specs) {
      const type = PARAMETER_TYPES[spec.kind];
      const parameter = new this.rcl.Parameter(spec.name, type, toRosValue(spec.kind, values[spec.name]));
      const descriptor = withRangeInMessage(new this.rcl.ParameterDescriptor(spec.name, type, describe(spec), false, this.range(spec)), spec);
      // Our value already holds every applicable override, matched by ROS's rules: it must win.
      this.node.declareParameter(parameter, descriptor, true);
    }
    this.node.addOnSetParametersCallback((parameters) => {
      const ours = parameters.filter((p) => this.specs.some((spec) => spec.name === p.name));
      if (ours.length === 0) return { successful: true, reason: "" };
      const changes = Object.fromEntries(ours.map((p) => [p.name, fromRosValue(p.value)]));
      const result = store.trySet(changes);
      return result.successful ? { successful: true, reason: "" } : { successful: false, reason: result.reason };
    });
    store.onChanged((all, changed) => {
      for (const callback of this.changeCallbacks) callback(all, changed);
    });
    this.parameterStore = store as unknown as ParameterStore<z.ZodObject>;
    return store.values;
  }

  private range(spec: ParameterSpec): RclRange | undefined {
    if (spec.range === undefined) return undefined;
    if (spec.kind === "integer") return new this.rcl.IntegerRange(BigInt(Math.ceil(spec.range.from)), BigInt(Math.floor(spec.range.to)), 1n);
    return new this.rcl.FloatingPointRange(spec.range.from, spec.range.to, 0);
  }

  onParametersChanged<P>(callback: ParametersChangedCallback<P>): void {
    this.changeCallbacks.push(callback as ParametersChangedCallback<unknown>);
  }

  spin(): void {
    if (this.alive) this.node.spin();
  }

  /** Destroys the node (rcl itself is the host's to shut down); every later call on the graph is inert. */
  destroy(): void {
    const wasAlive = this.alive;
    this.destroyed = true;
    if (wasAlive) this.node.destroy();
  }
}

/**
 * rclnodejs 2.2.0's ParameterDescriptor.toMessage() reads `_rangeConstraint`, a field its range setter never
 * writes (it writes `_range`), so describe_parameters would show no range: the range fields come from our spec.
 */
function withRangeInMessage(descriptor: RclParameterDescriptor, spec: ParameterSpec): RclParameterDescriptor {
  if (spec.range === undefined) return descriptor;
  const { from, to } = spec.range;
  const rangeFields =
    spec.kind === "integer"
      ? { integer_range: [{ from_value: BigInt(Math.ceil(from)), to_value: BigInt(Math.floor(to)), step: 1n }], floating_point_range: [] }
      : { floating_point_range: [{ from_value: from, to_value: to, step: 0 }], integer_range: [] };
  const toMessage = descriptor.toMessage.bind(descriptor);
  descriptor.toMessage = () => ({ ...toMessage(), ...rangeFields });
  return descriptor;
}

function describe(spec: ParameterSpec): string {
  return spec.allowed === undefined ? spec.description : `${spec.description}${spec.description ? " " : ""}(one of: ${spec.allowed.join(", ")})`;
}

/** rclnodejs wants bigint for INTEGER and INTEGER_ARRAY values. */
export function toRosValue(kind: ParameterKind, value: unknown): unknown {
  if (kind === "integer") return BigInt(value as number);
  if (kind === "integer_array") return (value as number[]).map((v) => BigInt(v));
  return value;
}

/** Back to JavaScript numbers for the zod schema (integers beyond 2^53 are not parameters we use). */
export function fromRosValue(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map((v) => (typeof v === "bigint" ? Number(v) : v));
  return value;
}
