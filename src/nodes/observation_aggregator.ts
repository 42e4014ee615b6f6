/**
 * The observation aggregator: camera topics (sensor_msgs/Image or CompressedImage, by parameter),
 * `joint_states` and the latched `instruction` → `observation` (pi0fast_ros/Observation) at most
 * `max_rate_hz`. Inputs are matched by header stamp, approximately (message_filters' ApproximateTime policy)
 * or freshest-of-each ("latest"); a stale or missing input gives no observation and a diagnostic naming the
 * topic and its age. Images are decoded and resized off the event loop (sharp) one set at a time, so
 * observations go out in synchronization order; on a simulated clock each callback is awaited, so a replay
 * is deterministic.
 */
import { z } from "zod";
import { InputError } from "../errors.js";
import { nsFromTime, stampText, type Pi0fastRosObservation, type SensorMsgsJointState } from "../msgs/messages.js";
import { ApproximateTimeSynchronizer, type StampedMessage } from "../observation/approximate-time.js";
import { IMAGE_RESIZE_MODES } from "../observation/image.js";
import { LatestSynchronizer } from "../observation/latest.js";
import { assembleObservation, type CameraMessage, type ObservationSpec } from "../observation/observation.js";
import { RateLimiter } from "../observation/rate-limiter.js";
import { stateMapping, stateShapeProblem } from "../observation/state.js";
import { POLICY_UNITS } from "../policy/manifest.js";
import { Diagnostics } from "../ros/diagnostics.js";
import { defineNode, type Graph, type Subscription, type Timer } from "../ros/graph.js";
import { SO100_JOINTS } from "../so100/calibration.js";
import { readCalibrationFile } from "../so100/calibration-file.js";

export const observationAggregatorParameters = z.object({
  camera_names: z.array(z.string().min(1)).min(1).default(["base_0_rgb", "wrist_0_rgb"]).describe("The model's camera names (its manifest's vision.cameras), one per camera topic"),
  camera_topics: z.array(z.string().min(1)).min(1).default(["camera/front/image_raw", "camera/wrist/image_raw"]).describe("Camera topics, one per camera name; relative to the namespace (launch remaps them to the camera driver's)"),
  camera_transports: z.array(z.enum(["raw", "compressed"])).min(1).default(["raw"]).describe("sensor_msgs/Image (raw) or CompressedImage (compressed): one for all cameras or one per camera"),
  image_size: z.number().int().min(1).max(4096).default(224).describe("Side of the model's square input image in pixels (its manifest's vision.image_size)"),
  image_resize: z.enum(IMAGE_RESIZE_MODES).default("pad").describe("pad: keep the aspect ratio, pad with black (openpi / LeRobot resize_with_pad); fill: stretch"),
  sync: z.enum(["approximate", "latest"]).default("approximate").describe("approximate: match header stamps (message_filters ApproximateTime); latest: the freshest of each input"),
  queue_size: z.number().int().min(1).max(1000).default(15).describe("Messages kept per input while a set is matched (approximate sync)"),
  slop_ms: z.number().positive().default(35).describe("Largest span of the stamps of one observation (approximate sync)"),
  camera_min_interval_ms: z.number().min(0).default(20).describe("Shortest time between two frames of a camera (0 = unknown); lets a set go out without waiting for the next frame"),
  joint_state_min_interval_ms: z.number().min(0).default(0).describe("Shortest time between two joint states (0 = unknown)"),
  max_age_ms: z.number().positive().default(200).describe("An input older than this (node clock − its stamp) is stale: no observation, a diagnostic"),
  max_rate_hz: z.number().positive().default(30).describe("Most observations per second"),
  state_joints: z.array(z.string().min(1)).min(1).default([...SO100_JOINTS]).describe("JointState names of the policy's state, in the policy's order"),
  state_names: z.array(z.string().min(1)).default([]).describe("The policy's state names (its manifest's state.names), one per joint; empty = the joint names"),
  state_units: z.array(z.enum(POLICY_UNITS)).min(1).default(["degrees"]).describe("Units of the policy's state (its dataset's): one for all joints or one per joint"),
  calibration_file: z.string().default("").describe("LeRobot calibration JSON, needed by the range_m100_100 / range_0_100 units"),
  default_instruction: z.string().default("").describe("Instruction used until one arrives on 'instruction'; empty = none (no observation without one)"),
})
  // Rules across parameters, so a live change that breaks one is rejected before it is accepted.
  .superRefine((p, context) => {
    const cameras = p.camera_names.length;
    const fail = (path: string, message: string) => context.addIssue({ code: "custom", path: [path], message });
    if (p.camera_topics.length !== cameras) fail("camera_topics", `${p.camera_topics.length} camera_topics for ${cameras} camera_names; expected one topic per camera`);
    if (p.camera_transports.length !== 1 && p.camera_transports.length !== cameras) fail("camera_transports", `${p.camera_transports.length} camera_transports for ${cameras} cameras; expected one for all or one per camera`);
    if (new Set(p.camera_names).size !== cameras) fail("camera_names", `[${p.camera_names.join(", ")}] names a camera twice`);
    const state = stateShapeProblem({ joints: p.state_joints, names: p.state_names, units: p.state_units });
    if (state !== undefined) fail(p.state_names.length !== 0 && p.state_names.length !== p.state_joints.length ? "state_names" : "state_units", state);
    if (p.calibration_file === "" && p.state_units.some((unit) => unit.startsWith("range"))) fail("state_units", "the range_m100_100 / range_0_100 units need a LeRobot calibration file, and calibration_file is empty");
  });

export type ObservationAggregatorParameters = z.infer<typeof observationAggregatorParameters>;

export const observationAggregatorNode = defineNode({
  name: "observation_aggregator",
  description: "Cameras + joint states + instruction → synchronized observation at the model's input size and units",
  parameters: observationAggregatorParameters,
  create(graph, parameters) {
    const node = new ObservationAggregator(graph, parameters);
    return { shutdown: () => node.shutdown() };
  },
});

type InputMessage = { readonly kind: "camera"; readonly camera: CameraMessage } | { readonly kind: "joint_state"; readonly message: SensorMsgsJointState };

interface Input {
  /** What the diagnostics call it: `camera 'base_0_rgb' (/so100/camera/front/image_raw)`. */
  readonly label: string;
  lastStampNs: bigint | undefined;
  warnedZeroStamp: boolean;
}

interface MatchedSet {
  readonly messages: StampedMessage<InputMessage>[];
  /** performance.now() when the set was complete. */
  readonly completedMs: number;
}

interface Configuration {
  readonly parameters: ObservationAggregatorParameters;
  readonly spec: ObservationSpec;
  readonly inputs: Input[];
  readonly sync: { readonly kind: "approximate"; readonly synchronizer: ApproximateTimeSynchronizer<InputMessage> } | { readonly kind: "latest"; readonly synchronizer: LatestSynchronizer<InputMessage> };
  readonly rate: RateLimiter;
  readonly subscriptions: Subscription[];
}

const LATENCY_WINDOW = 1000;

class ObservationAggregator {
  private config: Configuration | undefined;
  private readonly diagnostics: Diagnostics;
  private readonly publisher;
  private readonly timer: Timer;
  private instruction: string | undefined;
  private readonly instructionTopic: string;
  private inFlight: Promise<void> | undefined;
  private pendingSet: MatchedSet | undefined;
  private stopped = false;
  /** The current problem: its kind (reported at once when it changes) and its latest wording. */
  private problemKey = "";
  private problemMessage = "";
  private problemLevel: "warn" | "error" = "warn";
  private readonly latenciesMs: number[] = [];
  private counts = { published: 0, stale: 0, rateLimited: 0, busy: 0, failed: 0, publishedAtLastReport: 0 };
  private lastReportNs: bigint;

  constructor(
    private readonly graph: Graph,
    parameters: ObservationAggregatorParameters,
  ) {
    this.diagnostics = new Diagnostics(graph);
    this.publisher = graph.createPublisher("pi0fast_ros/msg/Observation", "observation", "reliable");
    this.instructionTopic = graph.resolveTopic("instruction");
    graph.createSubscription("std_msgs/msg/String", "instruction", "latched", (message) => {
      this.instruction = message.data;
    });
    this.config = this.configure(parameters);
    this.lastReportNs = graph.nowNs();
    this.timer = graph.createTimer(1_000_000_000n, () => this.report());
    graph.onParametersChanged<ObservationAggregatorParameters>((values) => {
      const previous = this.config!.parameters;
      this.teardown();
      try {
        this.config = this.configure(values);
      } catch (error) {
        this.config = this.configure(previous);
        this.problem("parameters", `parameters not applied: ${error instanceof Error ? error.message : String(error)}`, "error");
      }
    });
  }

  /** Validates the parameters as a whole and subscribes to the inputs they name. */
  private configure(p: ObservationAggregatorParameters): Configuration {
    // The schema checked the counts; what needs the calibration file is checked here.
    const cameras = p.camera_names.length;
    const calibration = p.calibration_file !== "" ? readCalibrationFile(p.calibration_file, "calibration_file") : undefined;
    const state = stateMapping({ joints: p.state_joints, names: p.state_names, units: p.state_units, calibration }, `parameters of ${this.graph.nodeName}`);
    const spec: ObservationSpec = { cameraNames: p.camera_names, imageSize: p.image_size, resize: p.image_resize, state };
    const inputs: Input[] = [
      ...p.camera_names.map((name, i) => ({ label: `camera '${name}' (${this.graph.resolveTopic(p.camera_topics[i]!)})`, lastStampNs: undefined, warnedZeroStamp: false })),
      { label: `joint states (${this.graph.resolveTopic("joint_states")})`, lastStampNs: undefined, warnedZeroStamp: false },
    ];
    const msToNs = (ms: number) => BigInt(Math.round(ms * 1e6));
    const sync: Configuration["sync"] =
      p.sync === "approximate"
        ? {
            kind: "approximate",
            synchronizer: new ApproximateTimeSynchronizer<InputMessage>({
              topics: inputs.length,
              queueSize: p.queue_size,
              slopNs: msToNs(p.slop_ms),
              lowerBoundsNs: [...p.camera_names.map(() => msToNs(p.camera_min_interval_ms)), msToNs(p.joint_state_min_interval_ms)],
              onWarning: (topic, message) => this.graph.logger.warn(`${inputs[topic]!.label}: ${message}`),
            }),
          }
        : { kind: "latest", synchronizer: new LatestSynchronizer<InputMessage>(inputs.length) };
    const depth = { profile: "sensor" as const, depth: p.queue_size };
    const subscriptions: Subscription[] = p.camera_topics.map((topic, i) => {
      const transport = p.camera_transports[p.camera_transports.length === 1 ? 0 : i];
      if (transport === "compressed") {
        return this.graph.createSubscription("sensor_msgs/msg/CompressedImage", topic, depth, (message) =>
          this.receive(i, message.header.stamp, { kind: "camera", camera: { type: "sensor_msgs/msg/CompressedImage", message } }),
        );
      }
      return this.graph.createSubscription("sensor_msgs/msg/Image", topic, depth, (message) => this.receive(i, message.header.stamp, { kind: "camera", camera: { type: "sensor_msgs/msg/Image", message } }));
    });
    subscriptions.push(this.graph.createSubscription("sensor_msgs/msg/JointState", "joint_states", depth, (message) => this.receive(cameras, message.header.stamp, { kind: "joint_state", message })));
    return { parameters: p, spec, inputs, sync, rate: new RateLimiter(p.max_rate_hz), subscriptions };
  }

  private teardown(): void {
    for (const subscription of this.config?.subscriptions ?? []) subscription.destroy();
    this.config = undefined;
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    this.timer.cancel();
    this.teardown();
    await this.inFlight;
  }

  private receive(topic: number, stamp: { sec: number; nanosec: number }, message: InputMessage): Promise<void> | undefined {
    const config = this.config;
    if (config === undefined || this.stopped) return undefined;
    const input = config.inputs[topic]!;
    let stampNs = nsFromTime(stamp);
    if (stampNs === 0n) {
      // An unstamped message is taken as of its arrival, as message_filters' allow_headerless does.
      stampNs = this.graph.nowNs();
      if (!input.warnedZeroStamp) this.graph.logger.warn(`${input.label}: messages carry no header stamp; using their arrival time`);
      input.warnedZeroStamp = true;
    }
    input.lastStampNs = stampNs;
    const completedMs = performance.now();
    if (config.sync.kind === "approximate") {
      let last: Promise<void> | undefined;
      for (const messages of config.sync.synchronizer.add(topic, stampNs, message)) last = this.offer(config, { messages, completedMs });
      return last;
    }
    config.sync.synchronizer.add(topic, stampNs, message);
    const taken = config.sync.synchronizer.take(this.graph.nowNs(), BigInt(Math.round(config.parameters.max_age_ms * 1e6)));
    return taken.set === undefined ? undefined : this.offer(config, { messages: taken.set, completedMs });
  }

  /** Drops a stale or over-rate set; otherwise converts and publishes it after the ones before it. */
  private offer(config: Configuration, set: MatchedSet): Promise<void> | undefined {
    const nowNs = this.graph.nowNs();
    const maxAgeNs = BigInt(Math.round(config.parameters.max_age_ms * 1e6));
    const stale = set.messages.flatMap((entry, i) => (nowNs - entry.stampNs > maxAgeNs ? [`${config.inputs[i]!.label} is ${msText(nowNs - entry.stampNs)} old`] : []));
    if (stale.length > 0) {
      this.counts.stale++;
      this.problem("stale", `no observation: ${stale.join("; ")} (max_age_ms ${config.parameters.max_age_ms})`, "warn");
      return undefined;
    }
    if (!config.rate.tryAcquire(nowNs)) {
      this.counts.rateLimited++;
      return undefined;
    }
    if (this.inFlight !== undefined) {
      // One conversion at a time; of the sets that wait, the freshest wins.
      if (this.pendingSet !== undefined) this.counts.busy++;
      this.pendingSet = set;
      return this.inFlight;
    }
    this.inFlight = this.convertInOrder(config, set).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async convertInOrder(config: Configuration, first: MatchedSet): Promise<void> {
    for (let set: MatchedSet | undefined = first; set !== undefined && !this.stopped; set = this.takePending()) await this.publishSet(config, set);
  }

  private takePending(): MatchedSet | undefined {
    const set = this.pendingSet;
    this.pendingSet = undefined;
    return set;
  }

  private async publishSet(config: Configuration, set: MatchedSet): Promise<void> {
    const instruction = this.instruction ?? config.parameters.default_instruction;
    if (instruction === "") {
      this.problem("instruction", `no observation: no instruction on ${this.instructionTopic} and default_instruction is empty`, "warn");
      return;
    }
    const cameras = config.spec.cameraNames.length;
    const frames = set.messages.slice(0, cameras).map((entry, i) => {
      const message = entry.message as Extract<InputMessage, { kind: "camera" }>;
      return { camera: message.camera, stampNs: entry.stampNs, where: `${config.inputs[i]!.label} at ${stampText(entry.stampNs)}` };
    });
    const joint = set.messages[cameras]!;
    let observation: Pi0fastRosObservation;
    try {
      observation = await assembleObservation(
        config.spec,
        frames,
        { message: (joint.message as Extract<InputMessage, { kind: "joint_state" }>).message, stampNs: joint.stampNs, where: `${config.inputs[cameras]!.label} at ${stampText(joint.stampNs)}` },
        instruction,
      );
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      this.counts.failed++;
      this.problem("conversion", `no observation: ${error.message}`, "error");
      return;
    }
    if (this.stopped) return;
    this.publisher.publish(observation);
    this.counts.published++;
    this.latenciesMs.push(performance.now() - set.completedMs);
    if (this.latenciesMs.length > LATENCY_WINDOW) this.latenciesMs.shift();
    if (this.problemKey !== "") {
      this.problemKey = "";
      this.problemMessage = "";
      this.report();
    }
  }

  /** Reports a problem at once when its kind is new; the 1 Hz report repeats its latest wording. */
  private problem(key: string, message: string, level: "warn" | "error"): void {
    this.problemMessage = message;
    this.problemLevel = level;
    if (key === this.problemKey) return;
    this.problemKey = key;
    this.graph.logger.warn(message);
    this.diagnostics.report({ name: "observation", level, message });
  }

  /** Each second: missing or stale inputs by name and age, else the publishing figures. */
  private report(): void {
    const config = this.config;
    if (config === undefined) return;
    const nowNs = this.graph.nowNs();
    const maxAgeNs = BigInt(Math.round(config.parameters.max_age_ms * 1e6));
    const unfit = config.inputs.flatMap((input) => {
      if (input.lastStampNs === undefined) return [`${input.label}: no message yet`];
      const ageNs = nowNs - input.lastStampNs;
      return ageNs > maxAgeNs ? [`${input.label}: last message ${msText(ageNs)} old`] : [];
    });
    const elapsedS = Number(nowNs - this.lastReportNs) / 1e9;
    const rateHz = elapsedS > 0 ? (this.counts.published - this.counts.publishedAtLastReport) / elapsedS : 0;
    this.counts.publishedAtLastReport = this.counts.published;
    this.lastReportNs = nowNs;
    const sorted = [...this.latenciesMs].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    const values = {
      rate_hz: rateHz.toFixed(1),
      published: this.counts.published,
      stale_sets: this.counts.stale,
      rate_limited: this.counts.rateLimited,
      skipped_busy: this.counts.busy,
      failed: this.counts.failed,
      latency_p50_ms: at(0.5).toFixed(2),
      latency_p99_ms: at(0.99).toFixed(2),
      ...(config.sync.kind === "approximate" ? { queue_drops: config.sync.synchronizer.droppedCounts.join(" ") } : {}),
    };
    if (unfit.length === 0 && this.problemKey === "inputs") {
      this.problemKey = "";
      this.problemMessage = "";
    }
    if (unfit.length > 0) {
      const message = `no observation: ${unfit.join("; ")} (max_age_ms ${config.parameters.max_age_ms})`;
      if (this.problemKey !== "inputs") this.graph.logger.warn(message);
      this.problemKey = "inputs";
      this.problemMessage = message;
      this.problemLevel = "warn";
      this.diagnostics.report({ name: "observation", level: "warn", message, values });
    } else if (this.problemKey !== "") {
      this.diagnostics.report({ name: "observation", level: this.problemLevel, message: this.problemMessage, values });
    } else {
      this.diagnostics.report({ name: "observation", level: "ok", message: `publishing (${config.parameters.sync} sync)`, values });
    }
  }
}

function msText(ns: bigint): string {
  return `${(Number(ns) / 1e6).toFixed(0)} ms`;
}
