/**
 * The Graph on ROS 2 through rclnodejs 2.x (Humble, Jazzy, Kilted). rclnodejs is an optional dependency
 * that installs only where ROS 2 is sourced, so it is loaded with a dynamic import.
 *
 * Parameters: rclnodejs 2.2.0 matches `--params-file` sections only by `/**` or the bare node name, so a
 * node started by `ros2 launch` with both `name=` and `namespace=` (whose params launch writes under
 * `/ns/name:`) would silently get none. RosGraph therefore reads the `--ros-args` itself, applies ROS's
 * matching rules (parameters.ts), validates the result with the node's zod schema and declares each
 * parameter with its value and a descriptor (type, description, range) — integers as bigint.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { z } from "zod";
import { InputError } from "../errors.js";
import type { Graph, Logger, ParametersChangedCallback, Publisher, Service, ServiceHandler, Subscription, Timer } from "./graph.js";
import { normalizeMessage, normalizeServiceMessage, type MessageOf, type MessageTypeName, type ServiceTypeName } from "../msgs/messages.js";
import { expandTopicName, remapTopic } from "./names.js";
import {
  ParameterStore,
  describeParameters,
  fullyQualifiedName,
  parseParamsFile,
  resolveOverrides,
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
  Node: new (nodeName: string, namespace?: string, context?: undefined, options?: Options) => RclNode;
  NodeOptions: new () => Options;
  Parameter: new (name: string, type: number, value?: unknown) => RclParameter;
  ParameterDescriptor: new (name: string, type: number, description?: string, readOnly?: boolean, range?: RclRange) => unknown;
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
  private parameterStore?: ParameterStore<z.ZodObject>;
  private specs: ParameterSpec[] = [];
  private readonly changeCallbacks: Array<ParametersChangedCallback<unknown>> = [];

  constructor(
    private readonly rcl: RclnodejsApi,
    options: RosGraphOptions,
    private readonly rosArgs: RosArgs,
  ) {
    this.nodeName = rosArgs.nodeName ?? options.nodeName;
    this.namespace = rosArgs.namespace ?? options.namespace ?? "/";
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
    for (const param of rosArgs.params) if (param.node === undefined || param.node === this.nodeName) this.overrides[param.name] = param.value;

    const nodeOptions = new rcl.NodeOptions();
    nodeOptions.startParameterServices = true;
    nodeOptions.automaticallyDeclareParametersFromOverrides = false;
    this.node = new rcl.Node(this.nodeName, this.namespace === "/" ? "" : this.namespace, undefined, nodeOptions);
    // use_sim_time arrives under the node's fully qualified key too, which rclnodejs would not see.
    if (this.overrides.use_sim_time === true) this.node.setParameter(new rcl.Parameter("use_sim_time", PARAMETER_TYPES.bool, true));
    const rosLogger = this.node.getLogger();
    this.logger = {
      debug: (message) => void rosLogger.debug(message),
      info: (message) => void rosLogger.info(message),
      warn: (message) => void rosLogger.warn(message),
      error: (message) => void rosLogger.error(message),
    };
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
    // rcl applies the command-line remaps itself: hand it the name as the node wrote it.
    const publisher = this.node.createPublisher(type, topic, { qos: this.qos(qos) });
    return { topic: this.resolveTopic(topic), publish: (message) => publisher.publish(message) };
  }

  createSubscription<N extends MessageTypeName>(type: N, topic: string, qos: QosOption, callback: (message: MessageOf<N>) => void | Promise<void>): Subscription {
    const subscription = this.node.createSubscription(type, topic, { qos: this.qos(qos) }, (raw) => {
      const result = callback(normalizeMessage(type, raw));
      if (result instanceof Promise) result.catch((error: unknown) => this.logger.error(`callback on '${topic}' failed: ${error instanceof Error ? error.message : String(error)}`));
    });
    return { topic: this.resolveTopic(topic), destroy: () => this.node.destroySubscription(subscription as never) };
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
    const timer = this.node.createTimer(periodNs, () => {
      const result = callback();
      if (result instanceof Promise) result.catch((error: unknown) => this.logger.error(`timer callback failed: ${error instanceof Error ? error.message : String(error)}`));
    });
    return { periodNs, cancel: () => timer.cancel() };
  }

  nowNs(): bigint {
    return this.node.now().nanoseconds;
  }

  declareParameters<S extends z.ZodObject>(schema: S): z.infer<S> {
    const fqn = fullyQualifiedName(this.namespace, this.nodeName);
    const store = new ParameterStore(schema, this.overrides, `parameters of node '${fqn}'`);
    this.specs = describeParameters(schema);
    const values = store.values as Record<string, unknown>;
    for (const spec of this.specs) {
      const type = PARAMETER_TYPES[spec.kind];
      const parameter = new this.rcl.Parameter(spec.name, type, toRosValue(spec.kind, values[spec.name]));
      const descriptor = new this.rcl.ParameterDescriptor(spec.name, type, describe(spec), false, this.range(spec));
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
    this.node.spin();
  }

  destroy(): void {
    this.node.destroy();
  }
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
