/**
 * One replay of a bag through the real node code on a simulated clock: the bag's cameras, follower joint
 * states and instruction → observation aggregator → policy (the recorded oracle, or the Pi0-FAST policy node
 * on a model) → latency injector → chunk blender, with the joint commands, chunks and requests recorded off
 * the topics and compared with the bag's recorded action. Deterministic for the oracle and injected latencies.
 */
import { z } from "zod";
import { InputError } from "../errors.js";
import { BagReader } from "../bag/reader.js";
import { nsFromTime, type SensorMsgsJointState } from "../msgs/messages.js";
import { findNode, startNode } from "../nodes/host.js";
import { policyNode } from "../nodes/policy.js";
import { readManifest } from "../policy/manifest.js";
import type { NodeDefinition, NodeHandle } from "../ros/graph.js";
import { LocalBus } from "../ros/local-graph.js";
import { resolveOverrides, validateParameters, type ParamsFileEntry } from "../ros/parameters.js";
import { SO100_JOINTS } from "../so100/calibration.js";
import { BagPlayer, type PlayedTopic } from "./bag-player.js";
import { latencyInjectorNode } from "./latency-injector.js";
import { computeMetrics, type ChunkArrival, type CommandSample, type ReplayMetrics } from "./metrics.js";
import { recordedPolicyNode } from "./recorded-policy.js";
import { JointTrajectory, type JointSample } from "./trajectory.js";

/** The `eval` section of an eval config: which of the bag's topics feed the pipeline and which is the truth. */
export const evalParameters = z.object({
  camera_topics: z.array(z.string().min(1)).min(1).default(["/camera/front/image_raw", "/camera/wrist/image_raw"]).describe("The bag's camera topics, one per camera name of the observation aggregator, in its order"),
  joint_states_topic: z.string().min(1).default("/joint_states").describe("The bag's joint states of the arm the policy observes (the follower)"),
  instruction_topic: z.string().default("/instruction").describe("The bag's std_msgs/String instruction; empty = none (the aggregator's default_instruction)"),
  action_topic: z.string().min(1).default("/leader/joint_states").describe("The bag's recorded action (leader arm or teleop, sensor_msgs/JointState): the commands are compared with it"),
  joint_names: z.array(z.string().min(1)).min(1).default([...SO100_JOINTS]).describe("Joints commanded and compared, in command order"),
});

export type EvalParameters = z.infer<typeof evalParameters>;

/** Where the undelayed chunks of the policy go: the latency injector's input. */
const UNDELAYED_CHUNKS = "action_chunk_undelayed";

export type ReplayPolicy = { kind: "recorded" } | { kind: "model"; modelDir: string };
export type ReplayLatency = { kind: "injected"; ms: number } | { kind: "measured" };

export interface ReplayOptions {
  bagPath: string;
  /** The eval config's sections (ROS params-file layout). */
  params: readonly ParamsFileEntry[];
  /** How the config was named, for errors. */
  configName: string;
  policy: ReplayPolicy;
  latency: ReplayLatency;
  /** Parameters of a node that win over the config's (tests, baselines). */
  overrides?: Readonly<Record<string, Record<string, unknown>>>;
  /** Called after each bag message, with the fraction of the bag played. */
  onProgress?: (fraction: number) => void;
}

export interface ReplayResult {
  latency: ReplayLatency;
  metrics: ReplayMetrics;
  jointNames: readonly string[];
  commands: CommandSample[];
  /** Chunks as the blender received them (after the latency injector). */
  chunks: ChunkArrival[];
  /** Chunks as the policy answered (before the injector): their stamps are the observations'. */
  policyChunks: { chunkId: number; stampNs: bigint; answeredNs: bigint }[];
  recordedAction: JointTrajectory;
  /** The bag time span replayed. */
  bagDurationS: number;
  /** Wall time of the replay (not part of the metrics: they stay deterministic). */
  wallS: number;
}

/** Reads and checks the `eval` section; names the config and the parameter on error. */
export function readEvalParameters(params: readonly ParamsFileEntry[], configName: string): EvalParameters {
  return validateParameters(evalParameters, resolveOverrides(params, "/eval"), `${configName} (section /**/eval)`);
}

/** The bag's recorded action as a trajectory over the compared joints (header stamps; receive time when zero). */
export async function readRecordedAction(bag: BagReader, topic: string, jointNames: readonly string[]): Promise<JointTrajectory> {
  const type = bag.topics.find((info) => info.name === topic)?.type;
  if (type !== "sensor_msgs/msg/JointState") throw new InputError(`${bag.path}: the action topic ${topic} carries ${type}; expected sensor_msgs/msg/JointState (the leader arm or teleop command)`);
  const samples: JointSample[] = [];
  for await (const message of bag.messages({ topics: [topic] })) {
    const state = message.message as unknown as SensorMsgsJointState;
    const stampNs = nsFromTime(state.header.stamp);
    samples.push({ timeNs: stampNs > 0n ? stampNs : message.logTimeNs, names: state.name, positionsRad: state.position });
  }
  return JointTrajectory.fromSamples(samples, jointNames, `${bag.path} ${topic}`);
}

export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const settings = readEvalParameters(options.params, options.configName);
  const bag = await BagReader.open(options.bagPath);
  const named = [...settings.camera_topics, settings.joint_states_topic, settings.action_topic, ...(settings.instruction_topic !== "" ? [settings.instruction_topic] : [])];
  bag.requireTopics(named, `named in ${options.configName}`);
  const recordedAction = await readRecordedAction(bag, settings.action_topic, settings.joint_names);

  const played: PlayedTopic[] = [
    ...settings.camera_topics.map((topic) => ({ from: topic })),
    { from: settings.joint_states_topic, to: "joint_states" },
    ...(settings.instruction_topic !== "" ? [{ from: settings.instruction_topic, to: "instruction", qos: "latched" as const }] : []),
  ];
  const player = await BagPlayer.open(options.bagPath, played);
  const bus = new LocalBus({
    clock: player.firstNs,
    params: options.params,
    remaps: [{ node: "policy", from: "action_chunk", to: UNDELAYED_CHUNKS }],
    logLevel: "warn",
  });

  const overrides = options.overrides ?? {};
  const injected = options.latency.kind === "injected" ? { latency_ms: options.latency.ms, measured_latency: false } : { measured_latency: true };
  // a model says which cameras it takes and at what size
  const vision = options.policy.kind === "model" ? readManifest(options.policy.modelDir).vision : undefined;
  const nodes: [NodeDefinition, Record<string, unknown>][] = [
    [findNode("observation_aggregator"), { camera_topics: settings.camera_topics, ...(vision !== undefined ? { camera_names: vision.cameras, image_size: vision.image_size } : {}) }],
    options.policy.kind === "recorded" ? [recordedPolicyNode(recordedAction) as unknown as NodeDefinition, { chunk_topic: UNDELAYED_CHUNKS }] : [policyNode as unknown as NodeDefinition, { model_dir: options.policy.modelDir }],
    [latencyInjectorNode as unknown as NodeDefinition, { ...injected, input_topic: UNDELAYED_CHUNKS, output_topic: "action_chunk" }],
    [findNode("chunk_blender"), { joint_names: settings.joint_names, command_interface: "joint_state", command_topic: "joint_command", joint_states_topic: "joint_states" }],
  ];

  const commands: CommandSample[] = [];
  const chunks: ChunkArrival[] = [];
  const policyChunks: ReplayResult["policyChunks"] = [];
  let replanRequests = 0;
  // Best-effort subscriptions: they hear reliable and best-effort publishers alike.
  const recorder = bus.createGraph("eval_recorder");
  recorder.createSubscription("sensor_msgs/msg/JointState", "joint_command", { profile: "sensor", depth: 1000 }, (command) => {
    const positions = settings.joint_names.map((joint) => command.position[command.name.indexOf(joint)] ?? Number.NaN);
    commands.push({ timeNs: nsFromTime(command.header.stamp), positionsRad: Float64Array.from(positions) });
  });
  recorder.createSubscription("pi0fast_ros/msg/ActionChunk", "action_chunk", { profile: "sensor", depth: 1000 }, (chunk) => {
    chunks.push({ chunkId: chunk.chunk_id, arrivalNs: recorder.nowNs(), stampNs: nsFromTime(chunk.header.stamp), dtS: chunk.dt_s, horizon: chunk.horizon, decodeStatus: chunk.decode_status, inferenceLatencyMs: chunk.inference_latency_ms });
  });
  recorder.createSubscription("pi0fast_ros/msg/ActionChunk", UNDELAYED_CHUNKS, { profile: "sensor", depth: 1000 }, (chunk) => {
    policyChunks.push({ chunkId: chunk.chunk_id, stampNs: nsFromTime(chunk.header.stamp), answeredNs: recorder.nowNs() });
  });
  recorder.createSubscription("pi0fast_ros/msg/ReplanRequest", "replan_request", { profile: "sensor", depth: 1000 }, () => void replanRequests++);

  const handles: NodeHandle[] = [];
  const graphs = [recorder];
  const started = performance.now();
  try {
    for (const [definition, forced] of nodes) {
      const graph = bus.createGraph(definition.name, { parameters: { ...forced, ...(overrides[definition.name] ?? {}) } });
      graphs.push(graph);
      handles.push(await startNode(definition, graph));
    }
    const spanNs = Number(player.durationNs);
    await player.playSimulated(bus, { onMessage: (_topic, timeNs) => options.onProgress?.(spanNs > 0 ? Number(timeNs - player.firstNs) / spanNs : 1) });
    const endNs = recordedAction.endNs > player.lastNs ? recordedAction.endNs : player.lastNs;
    await bus.advanceTo(endNs);
  } finally {
    for (const handle of handles.reverse()) await handle.shutdown();
    for (const graph of graphs) graph.destroy();
    bus.close();
  }
  const wallS = (performance.now() - started) / 1000;
  const blender = validateParameters(findNode("chunk_blender").parameters, { ...bus.overridesFor("/chunk_blender"), ...(overrides.chunk_blender ?? {}) }, options.configName) as { control_rate_hz: number };
  const metrics = computeMetrics({
    jointNames: settings.joint_names,
    controlPeriodNs: BigInt(Math.round(1e9 / blender.control_rate_hz)),
    commands,
    chunks,
    replanRequests,
    recordedAction,
  });
  return { latency: options.latency, metrics, jointNames: settings.joint_names, commands, chunks, policyChunks, recordedAction, bagDurationS: Number(player.durationNs) / 1e9, wallS };
}
