/**
 * The policy node: keeps the freshest `observation`, and on each `replan_request` (or each observation, with
 * `trigger: observation`) runs the Pi0-FAST policy on it and publishes an `action_chunk` stamped with the
 * observation's stamp. Warm-up inferences at start are left out of the latency statistics.
 * A configuration that cannot work (a model_dir that is no model, a calibration_file that cannot be read) fails
 * the start with an InputError naming the parameter, and `ros2 param set` to such a value is rejected; a fault
 * that arises while running (a reload that fails, a bad observation) is reported (log + /diagnostics) and the
 * node keeps running: no crash loop.
 */
import { existsSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { InputError, describeValue } from "../errors.js";
import { Diagnostics } from "../ros/diagnostics.js";
import { defineNode, type Graph } from "../ros/graph.js";
import { Pi0fastRosActionChunkConstants as Decode, makeHeader, nsFromTime, type Pi0fastRosObservation } from "../msgs/messages.js";
import { readCalibrationFile } from "../so100/calibration-file.js";
import { Pi0FastPolicy, type PolicyImage, type PolicyInput, type PolicyResult } from "../policy/policy.js";
import { MANIFEST_FILE } from "../policy/manifest.js";
import { PROVIDERS } from "../policy/sessions.js";
import { makeTestModel } from "../policy/test-model.js";

/** Why `dir` cannot be a model directory (undefined when it can, or is empty: the tiny test model). */
function modelDirProblem(dir: string): string | undefined {
  if (dir === "") return undefined;
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    return `${dir} does not exist`;
  }
  if (!isDirectory) return `${dir} is not a directory`;
  if (!existsSync(path.join(dir, MANIFEST_FILE))) return `${dir} holds no ${MANIFEST_FILE}, so it is no Pi0-FAST model directory`;
  return undefined;
}

/** A path parameter checked when it is set (params file, command line, `ros2 param set`), not at first use. */
function checkedPath(problem: (value: string) => string | undefined, expected: string) {
  return z
    .string()
    .default("")
    .superRefine((value, context) => {
      const found = problem(value);
      if (found !== undefined) context.addIssue({ code: "custom", message: `${found}; expected ${expected}` });
    });
}

export const policyParameters = z.object({
  model_dir: checkedPath(modelDirProblem, `a directory with ${MANIFEST_FILE} and the ONNX graphs, or "" for the tiny test model`).describe(
    "Model directory (pi0fast.json + ONNX graphs); empty = the seeded tiny test model, generated on first use",
  ),
  providers: z.array(z.enum(PROVIDERS)).min(1).default(["cuda", "webgpu", "cpu"]).describe("Execution providers in order of preference; a failing one falls back to the next"),
  trigger: z.enum(["replan_request", "observation"]).default("replan_request").describe("What starts an inference: a replan request, or every new observation while idle"),
  max_observation_age_ms: z.number().positive().default(500).describe("An observation older than this (node clock − its stamp) gives no chunk, only a diagnostic"),
  max_decode_steps: z.number().int().min(2).max(4096).default(256).describe("Most decoding steps per chunk, the final '|' included"),
  constrained_decoding: z.boolean().default(true).describe("Allow only tokens that keep the chunk decodable (false = the reference's plain argmax)"),
  warmup_inferences: z.number().int().min(0).max(20).default(2).describe("Inferences on a synthetic observation at start, left out of the latency statistics"),
  task_cleaning: z.enum(["manifest", "openpi", "lerobot"]).default("manifest").describe("Task text cleaning: the model's own (manifest), openpi (lowercase) or lerobot"),
  calibration_file: checkedPath((file) => (file === "" || existsSync(file) ? undefined : `${file} does not exist`), 'a LeRobot calibration JSON file, or ""').describe(
    "LeRobot calibration JSON, needed when the model's actions are in range units",
  ),
  cpu_threads: z.number().int().min(0).default(0).describe("onnxruntime CPU intra-op threads; 0 = its default"),
  test_model_seed: z.number().int().min(0).default(0).describe("Seed of the tiny test model used when model_dir is empty"),
});

export type PolicyParameters = z.infer<typeof policyParameters>;

const STATUS_CODES = { ok: Decode.DECODE_OK, repaired: Decode.DECODE_REPAIRED, failed: Decode.DECODE_FAILED } as const;

export const policyNode = defineNode({
  name: "policy",
  description: "Pi0-FAST policy: observation → action chunk (onnxruntime, KV cache, constrained FAST decoding)",
  parameters: policyParameters,
  blocking: true,
  async create(graph, parameters) {
    const node = new PolicyNode(graph, parameters);
    await node.start();
    return { shutdown: () => node.shutdown() };
  },
});

interface ReceivedObservation {
  message: Pi0fastRosObservation;
  /** Wall time it arrived (performance.now()), for the latency. */
  receivedMs: number;
}

class PolicyNode {
  private policy: Pi0FastPolicy | undefined;
  private latest: ReceivedObservation | undefined;
  private pending = false;
  private busy: Promise<void> | undefined;
  private chunkId = 0;
  private stopped = false;
  private readonly latenciesMs: number[] = [];
  private readonly diagnostics: Diagnostics;
  private readonly publisher;

  constructor(
    private readonly graph: Graph,
    private parameters: PolicyParameters,
  ) {
    this.diagnostics = new Diagnostics(graph);
    this.publisher = graph.createPublisher("pi0fast_ros/msg/ActionChunk", "action_chunk", "reliable");
    graph.createSubscription("pi0fast_ros/msg/Observation", "observation", { profile: "reliable", depth: 1 }, (message) => {
      this.latest = { message, receivedMs: performance.now() };
      if (this.parameters.trigger === "observation") this.pending = true;
      return this.kick();
    });
    graph.createSubscription("pi0fast_ros/msg/ReplanRequest", "replan_request", "reliable", () => {
      this.pending = true;
      return this.kick();
    });
    graph.onParametersChanged<PolicyParameters>((values, changed) => {
      this.parameters = values;
      const reload = ["model_dir", "providers", "max_decode_steps", "constrained_decoding", "task_cleaning", "calibration_file", "cpu_threads", "test_model_seed"];
      if (changed.some((name) => reload.includes(name))) void this.reload();
    });
  }

  async start(): Promise<void> {
    await this.load({ atStart: true });
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    await this.busy;
    await this.policy?.dispose();
    this.policy = undefined;
  }

  private async reload(): Promise<void> {
    await this.busy;
    await this.policy?.dispose();
    this.policy = undefined;
    await this.load();
  }

  /**
   * Loads the model and warms it up. A failure while running is reported and leaves the node idle, not dead;
   * at start, a configuration error (InputError) is thrown instead: the host exits 2 with it.
   */
  private async load(options: { atStart?: boolean } = {}): Promise<void> {
    const p = this.parameters;
    try {
      const calibration = p.calibration_file !== "" ? readCalibrationFile(p.calibration_file, "calibration_file") : undefined;
      const dir = p.model_dir !== "" ? p.model_dir : await testModelDir(p.test_model_seed, this.graph);
      this.graph.logger.info(`loading the model in ${dir} (providers: ${p.providers.join(", ")})`);
      const policy = await Pi0FastPolicy.load(dir, {
        providers: p.providers,
        maxDecodeSteps: p.max_decode_steps,
        constrained: p.constrained_decoding,
        ...(p.task_cleaning !== "manifest" ? { taskCleaning: p.task_cleaning } : {}),
        ...(calibration !== undefined ? { calibration } : {}),
        ...(p.cpu_threads > 0 ? { threads: p.cpu_threads } : {}),
        warn: (message) => this.graph.logger.warn(message),
      }).catch((error: unknown) => {
        throw error instanceof InputError ? new InputError(`parameter 'model_dir' = ${describeValue(p.model_dir)}: ${error.message}`) : error;
      });
      if (p.warmup_inferences > 0) this.graph.logger.info(`warming up on ${policy.provider}: ${p.warmup_inferences} inference(s)`);
      for (let i = 0; i < p.warmup_inferences; i++) await policy.infer(syntheticInput(policy));
      this.policy = policy;
      this.graph.logger.info(`model '${policy.manifest.name}' loaded from ${dir} on ${policy.provider}; ${p.warmup_inferences} warm-up inference(s) done`);
      this.diagnostics.report({ name: "model", level: "ok", message: `loaded on ${policy.provider}`, values: { model: policy.manifest.name, provider: policy.provider } });
    } catch (error) {
      if (options.atStart === true && error instanceof InputError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      this.graph.logger.error(`cannot load the policy model: ${message}`);
      this.diagnostics.report({ name: "model", level: "error", message: `not loaded: ${message}` });
      if (!(error instanceof InputError)) this.graph.logger.error(error instanceof Error ? (error.stack ?? message) : message);
    }
    await this.kick();
  }

  /** Starts an inference when one is wanted, the model is loaded and none is running. */
  private kick(): Promise<void> {
    if (this.busy !== undefined || !this.pending || this.policy === undefined || this.latest === undefined || this.stopped) return this.busy ?? Promise.resolve();
    const observation = this.latest;
    const ageMs = Number(this.graph.nowNs() - nsFromTime(observation.message.header.stamp)) / 1e6;
    if (ageMs > this.parameters.max_observation_age_ms) {
      // Keep the request pending: the next fresh observation serves it.
      this.diagnostics.report({ name: "inference", level: "warn", message: `observation is ${ageMs.toFixed(0)} ms old (> max_observation_age_ms ${this.parameters.max_observation_age_ms}): no chunk` });
      this.latest = undefined;
      return Promise.resolve();
    }
    this.pending = false;
    this.busy = this.infer(this.policy, observation).finally(() => {
      this.busy = undefined;
    });
    // Requests that arrived meanwhile are served with the freshest observation then.
    return this.busy.then(() => this.kick());
  }

  private async infer(policy: Pi0FastPolicy, observation: ReceivedObservation): Promise<void> {
    let result: PolicyResult;
    try {
      result = await policy.infer(policyInput(policy, observation.message));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.graph.logger.warn(`inference failed: ${message}`);
      this.diagnostics.report({ name: "inference", level: "error", message });
      return;
    }
    if (this.stopped) return;
    const latencyMs = performance.now() - observation.receivedMs;
    this.latenciesMs.push(latencyMs);
    if (this.latenciesMs.length > 1000) this.latenciesMs.shift();
    this.chunkId++;
    this.publisher.publish({
      header: makeHeader(nsFromTime(observation.message.header.stamp), observation.message.header.frame_id),
      chunk_id: this.chunkId,
      dt_s: policy.manifest.actions.dt_s,
      horizon: result.horizon,
      action_names: [...result.actionNames],
      actions_rad: result.actionsRad,
      inference_latency_ms: latencyMs,
      token_count: result.tokenCount,
      decode_status: STATUS_CODES[result.status],
      decode_detail: result.detail,
    });
    const sorted = [...this.latenciesMs].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    this.diagnostics.report({
      name: "inference",
      level: result.status === "ok" ? "ok" : result.status === "repaired" ? "warn" : "error",
      message: result.status === "ok" ? `chunk ${this.chunkId}` : `chunk ${this.chunkId}: ${result.status}: ${result.detail}`,
      values: {
        provider: result.provider,
        latency_ms: latencyMs.toFixed(1),
        latency_p50_ms: at(0.5).toFixed(1),
        latency_p95_ms: at(0.95).toFixed(1),
        tokens: result.tokenCount,
        prefill_ms: result.timings.prefillMs.toFixed(1),
        vision_ms: result.timings.visionMs.toFixed(1),
      },
    });
  }
}

/** The observation message as the runtime's input: cameras in the model's order, rgb8 rows packed. */
export function policyInput(policy: Pi0FastPolicy, message: Pi0fastRosObservation): PolicyInput {
  const cameras = policy.manifest.vision.cameras;
  const byName = message.camera_names.length === message.images.length ? new Map(message.camera_names.map((name, i) => [name, message.images[i]!])) : undefined;
  const images: PolicyImage[] = cameras.map((camera, c) => {
    const image = byName !== undefined && byName.size > 0 ? byName.get(camera) : message.images[c];
    if (image === undefined) throw new InputError(`observation: no image for camera '${camera}' (has ${message.camera_names.join(", ") || "no camera names"}); the model expects ${cameras.join(", ")}`);
    if (image.encoding !== "rgb8") throw new InputError(`observation image '${camera}': encoding '${image.encoding}', expected rgb8`);
    const rowBytes = image.width * 3;
    if (image.step === rowBytes || image.step === 0) return { width: image.width, height: image.height, data: image.data };
    if (image.step < rowBytes || image.data.length < image.step * image.height) throw new InputError(`observation image '${camera}': step ${image.step} and ${image.data.length} bytes do not hold ${image.height} rows of ${rowBytes} bytes`);
    const packed = new Uint8Array(rowBytes * image.height);
    for (let row = 0; row < image.height; row++) packed.set(image.data.subarray(row * image.step, row * image.step + rowBytes), row * rowBytes);
    return { width: image.width, height: image.height, data: packed };
  });
  return { images, state: stateInModelOrder(policy.manifest.state.names, message), instruction: message.instruction };
}

/** The state in the manifest's order: by name when the observation names its values, else as it comes. */
function stateInModelOrder(names: readonly string[], message: Pi0fastRosObservation): ArrayLike<number> {
  if (message.state_names.length === 0) return message.state;
  if (message.state_names.length !== message.state.length) throw new InputError(`observation: ${message.state.length} state values for ${message.state_names.length} state_names`);
  const index = new Map(message.state_names.map((name, i) => [name, i]));
  return names.map((name) => {
    const i = index.get(name);
    if (i === undefined) throw new InputError(`observation: no state value named '${name}' (has ${message.state_names.join(", ")}); the model's state is ${names.join(", ")}`);
    return message.state[i]!;
  });
}

/** Mid-grey images, the state at the middle of its normalization range. */
function syntheticInput(policy: Pi0FastPolicy): PolicyInput {
  const { cameras, image_size: size } = policy.manifest.vision;
  const { names, normalization } = policy.manifest.state;
  const stats = normalization.stats;
  const middle = (d: number) => {
    const pairs: [number[] | undefined, number[] | undefined][] = [[stats.q01, stats.q99], [stats.min, stats.max], [stats.mean, stats.mean]];
    for (const [low, high] of pairs) if (low !== undefined && high !== undefined) return (low[d]! + high[d]!) / 2;
    return 0;
  };
  return {
    images: cameras.map(() => ({ width: size, height: size, data: new Uint8Array(size * size * 3).fill(128) })),
    state: names.map((_, d) => middle(d)),
    instruction: "warm up",
  };
}

/** The seeded tiny test model, generated once per seed into the system's temporary folder. */
async function testModelDir(seed: number, graph: Graph): Promise<string> {
  const dir = path.join(os.tmpdir(), `pi0fast-test-model-tiny-seed${seed}`);
  if (!existsSync(path.join(dir, MANIFEST_FILE))) {
    graph.logger.warn(`model_dir is empty: generating the tiny test model (random weights, seed ${seed}) in ${dir}; its actions are meaningless`);
    await makeTestModel({ out: dir, preset: "tiny", seed });
  }
  return dir;
}
