/**
 * A stand-in for rclnodejs 2.x, for machines without ROS 2. It implements the API surface RosGraph uses
 * with the real module's contract — Parameter value checks (INTEGER must be a bigint), createTimer's
 * bigint-only period, declareParameter with descriptors and overrides, on-set-parameters callbacks that
 * can reject — and records every call so tests can assert on type names, QoS, periods and descriptors.
 */
import type { RclNode, RclNodeOptions, RclParameter, RclRange, RclServiceResponse, RclnodejsApi } from "../../src/ros/ros-graph.js";

const BOOL = 1;
const INTEGER = 2;
const DOUBLE = 3;
const STRING = 4;

function validValue(value: unknown, type: number): boolean {
  const scalar = (v: unknown, t: number): boolean =>
    t === BOOL ? typeof v === "boolean" : t === INTEGER ? typeof v === "bigint" : t === DOUBLE ? typeof v === "number" : t === STRING ? typeof v === "string" : false;
  if (type >= 6 && type <= 9) return Array.isArray(value) && value.every((v) => scalar(v, type - 5));
  return scalar(value, type);
}

export class FakeParameter implements RclParameter {
  constructor(
    readonly name: string,
    readonly type: number,
    public value: unknown,
  ) {
    // rclnodejs's Parameter.validate(): the value must match the declared type.
    if (!validValue(value, type)) throw new TypeError(`Parameter '${name}' of type ${type} cannot hold ${typeof value} ${String(value)}`);
  }
}

export class FakeDescriptor {
  constructor(
    readonly name: string,
    readonly type: number,
    readonly description = "",
    readonly readOnly = false,
    readonly range?: FakeRange,
  ) {}

  /** As rclnodejs 2.2.0's: the range goes to `_range`, but the message is built from `_rangeConstraint`, never set. */
  toMessage(): object {
    const message: Record<string, unknown> = { name: this.name, type: this.type, description: this.description, additional_constraints: "", read_only: this.readOnly };
    const rangeConstraint = (this as { _rangeConstraint?: unknown })._rangeConstraint;
    if (rangeConstraint !== undefined) message[this.type === 2 ? "integer_range" : "floating_point_range"] = [rangeConstraint];
    return message;
  }
}

export class FakeRange implements RclRange {
  readonly fromValue: number;
  readonly toValue: number;
  readonly step: number;

  constructor(
    readonly kind: "float" | "integer",
    from: number | bigint,
    to: number | bigint,
    step: number | bigint,
  ) {
    this.fromValue = Number(from);
    this.toValue = Number(to);
    this.step = Number(step);
  }

  inRange(value: number): boolean {
    return value >= this.fromValue && value <= this.toValue;
  }

  isValidType(parameterType: number): boolean {
    return this.kind === "float" ? parameterType === DOUBLE : parameterType === INTEGER;
  }
}

export class FakeQoS {
  constructor(
    readonly history: number,
    readonly depth: number,
    readonly reliability: number,
    readonly durability: number,
  ) {}
}

export interface Recorded {
  publishers: Array<{ type: string; topic: string; qos: FakeQoS; published: unknown[] }>;
  subscriptions: Array<{ type: string; topic: string; qos: FakeQoS; callback: (message: unknown) => void; destroyed: boolean }>;
  timers: Array<{ period: bigint; callback: () => void; cancelled: boolean }>;
  services: FakeService[];
  declared: Array<{ parameter: FakeParameter; descriptor: FakeDescriptor; ignoreOverride: boolean }>;
  setParameters: FakeParameter[];
  logs: Array<[string, string]>;
}

export class FakeNode implements RclNode {
  readonly recorded: Recorded = { publishers: [], subscriptions: [], timers: [], services: [], declared: [], setParameters: [], logs: [] };
  readonly parameters = new Map<string, FakeParameter>();
  private readonly onSet: Array<(parameters: RclParameter[]) => { successful: boolean; reason: string }> = [];
  nowNanoseconds = 1_000_000_000n;
  spun = false;
  destroyed = false;

  constructor(
    private readonly nodeName: string,
    private readonly nodeNamespace = "",
    readonly context?: unknown,
    readonly options?: RclNodeOptions,
  ) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(nodeName)) throw new Error(`Invalid node name '${nodeName}'`);
    FakeRclnodejs.nodes.push(this);
  }

  name(): string {
    return this.nodeName;
  }

  namespace(): string {
    return this.nodeNamespace === "" ? "/" : this.nodeNamespace;
  }

  getLogger() {
    const log = (level: string) => (message: string) => {
      this.recorded.logs.push([level, message]);
      return true;
    };
    return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
  }

  /** As the real node once its context is shut down or it is destroyed: its clock and handles are gone. */
  private assertAlive(what: string): void {
    if (this.destroyed || FakeRclnodejs.shutdownState) throw new TypeError(`Cannot read properties of null (reading '${what}')`);
  }

  now() {
    this.assertAlive("now");
    return { nanoseconds: this.nowNanoseconds };
  }

  createPublisher(typeClass: string, topic: string, options?: { qos?: unknown }) {
    if (!/^[a-z0-9_]+\/msg\/[A-Za-z0-9]+$/.test(typeClass)) throw new Error(`rclnodejs cannot load message type '${typeClass}'`);
    this.assertAlive("createPublisher");
    const entry = { type: typeClass, topic, qos: options?.qos as FakeQoS, published: [] as unknown[] };
    this.recorded.publishers.push(entry);
    return {
      topic,
      publish: (message: unknown) => {
        this.assertAlive("publish");
        entry.published.push(message);
      },
    };
  }

  createSubscription(typeClass: string, topic: string, options: { qos?: unknown }, callback: (message: unknown) => void) {
    if (typeof callback !== "function") throw new TypeError("createSubscription: the callback comes after the options");
    this.assertAlive("createSubscription");
    const entry = { type: typeClass, topic, qos: options.qos as FakeQoS, callback, destroyed: false };
    this.recorded.subscriptions.push(entry);
    return entry;
  }

  destroySubscription(subscription: never): void {
    (subscription as { destroyed: boolean }).destroyed = true;
  }

  createTimer(period: bigint, callback: () => void) {
    // The real createTimer throws a TypeValidationError for a number period.
    if (typeof period !== "bigint") throw new TypeError(`createTimer: period must be a bigint, got ${typeof period}`);
    this.assertAlive("createTimer");
    const entry = { period, callback, cancelled: false };
    this.recorded.timers.push(entry);
    return { cancel: () => void (entry.cancelled = true) };
  }

  createService(typeClass: string, serviceName: string, callback: (request: unknown, response: RclServiceResponse) => void): FakeService {
    // rclnodejs loads the interface first (a bad name throws) and checks the callback's type.
    if (!/^[a-z0-9_]+\/srv\/[A-Za-z0-9]+$/.test(typeClass)) throw new Error(`rclnodejs cannot load service type '${typeClass}'`);
    if (typeof callback !== "function") throw new TypeError("createService: callback must be a function");
    if (this.recorded.services.some((s) => s.name === serviceName && !s.destroyed)) throw new Error(`service '${serviceName}' already exists on this node`);
    const service = new FakeService(typeClass, serviceName, callback);
    this.recorded.services.push(service);
    return service;
  }

  destroyService(service: never): void {
    (service as FakeService).destroyed = true;
  }

  declareParameter(parameter: RclParameter, descriptor?: unknown, ignoreOverride = false): RclParameter {
    if (this.parameters.has(parameter.name)) throw new Error(`Parameter '${parameter.name}' already declared`);
    const fakeDescriptor = descriptor as FakeDescriptor;
    if (fakeDescriptor.type !== parameter.type) throw new TypeError(`descriptor type ${fakeDescriptor.type} does not match parameter type ${parameter.type}`);
    let declared = parameter as FakeParameter;
    const override = this.options?.parameterOverrides.find((p) => p.name === parameter.name);
    if (override !== undefined && !ignoreOverride) declared = override as FakeParameter;
    this.parameters.set(parameter.name, declared);
    this.recorded.declared.push({ parameter: declared, descriptor: fakeDescriptor, ignoreOverride });
    return declared;
  }

  hasParameter(name: string): boolean {
    return this.parameters.has(name);
  }

  setParameter(parameter: RclParameter): { successful: boolean; reason: string } {
    this.recorded.setParameters.push(parameter as FakeParameter);
    for (const callback of this.onSet) {
      const result = callback([parameter]);
      if (!result.successful) return result;
    }
    this.parameters.set(parameter.name, parameter as FakeParameter);
    return { successful: true, reason: "" };
  }

  addOnSetParametersCallback(callback: (parameters: RclParameter[]) => { successful: boolean; reason: string }): void {
    this.onSet.push(callback);
  }

  spin(): void {
    this.spun = true;
  }

  destroy(): void {
    this.destroyed = true;
  }
}

/**
 * A service server as rclnodejs runs one: the callback gets the request as a plain object and a response
 * whose `send` may be called once, at any time after (rclnodejs's Response keeps the request header).
 */
export class FakeService {
  destroyed = false;

  constructor(
    readonly type: string,
    readonly name: string,
    private readonly callback: (request: unknown, response: RclServiceResponse) => void,
  ) {}

  /** What a client's sendRequestAsync sees: resolves with the response sent. */
  call(request: unknown): Promise<unknown> {
    if (this.destroyed) return Promise.reject(new Error(`service '${this.name}' was destroyed`));
    return new Promise((resolve, reject) => {
      let sent = false;
      const response = {
        send: (message: never) => {
          if (sent) return reject(new Error("response sent twice"));
          sent = true;
          resolve(message);
        },
      };
      this.callback(structuredClone(request), response);
    });
  }
}

class FakeNodeOptions implements RclNodeOptions {
  startParameterServices = true;
  parameterOverrides: RclParameter[] = [];
  automaticallyDeclareParametersFromOverrides = false;
}

export const FakeRclnodejs = {
  nodes: [] as FakeNode[],
  initArgv: undefined as string[] | undefined,
  shutdownState: true,
  signalHandlersRemoved: false,
  reset(): void {
    this.nodes = [];
    this.initArgv = undefined;
    this.shutdownState = true;
    this.signalHandlersRemoved = false;
  },
  api(): RclnodejsApi {
    return {
      init: async (_context?: unknown, argv?: string[]) => {
        FakeRclnodejs.initArgv = argv;
        FakeRclnodejs.shutdownState = false;
      },
      shutdown: () => void (FakeRclnodejs.shutdownState = true),
      isShutdown: () => FakeRclnodejs.shutdownState,
      removeSignalHandlers: () => void (FakeRclnodejs.signalHandlersRemoved = true),
      Node: FakeNode,
      NodeOptions: FakeNodeOptions,
      Parameter: FakeParameter,
      ParameterDescriptor: FakeDescriptor as unknown as RclnodejsApi["ParameterDescriptor"],
      FloatingPointRange: class extends FakeRange {
        constructor(from: number, to: number, step = 0) {
          super("float", from, to, step);
        }
      },
      IntegerRange: class extends FakeRange {
        constructor(from: bigint, to: bigint, step = 1n) {
          if (typeof from !== "bigint" || typeof to !== "bigint") throw new TypeError("IntegerRange takes bigint bounds");
          super("integer", from, to, step);
        }
      },
      QoS: FakeQoS as unknown as RclnodejsApi["QoS"],
    };
  },
};
