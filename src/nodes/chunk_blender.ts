/**
 * The chunk blender node: owns the control clock. A timer at `control_rate_hz` samples the policy's chunks
 * (src/blending) and publishes the joint command; it asks the policy for chunks with `replan_request`.
 * Nothing is commanded before the arm's position is known from `joint_states`; the first command is that
 * position, and every command is rate-limited against the previous one whatever the chunks hold.
 */
import { z } from "zod";
import { ChunkBlender, type BlenderSettings } from "../blending/blender.js";
import { DROP_REASONS, type ChunkVerdict } from "../blending/chunk.js";
import { percentile, ReplanScheduler, type ReplanSettings } from "../blending/replan.js";
import { BLEND_SCHEDULES } from "../blending/schedules.js";
import { makeHeader, timeFromNs, type Pi0fastRosActionChunk, type Pi0fastRosReplanRequest } from "../msgs/messages.js";
import { Diagnostics, type DiagnosticLevel } from "../ros/diagnostics.js";
import { defineNode, type Graph, type Publisher, type Timer } from "../ros/graph.js";
import { SO100_JOINTS } from "../so100/calibration.js";

export const COMMAND_INTERFACES = ["joint_state", "float64_multi_array", "joint_trajectory"] as const;

export const chunkBlenderParameters = z
  .object({
    control_rate_hz: z.number().positive().max(1000).default(100).describe("Rate of the joint commands (the control clock), Hz"),
    joint_names: z.array(z.string().min(1)).min(1).default([...SO100_JOINTS]).describe("Joints commanded, in command order; chunks must name exactly these"),
    command_interface: z
      .enum(COMMAND_INTERFACES)
      .default("joint_state")
      .describe("joint_state: sensor_msgs/JointState; float64_multi_array: std_msgs/Float64MultiArray in joint_names order (ros2_control forward_position_controller); joint_trajectory: trajectory_msgs/JointTrajectory, one point one period ahead (joint_trajectory_controller)"),
    command_topic: z.string().min(1).default("joint_command").describe("Topic of the commands (e.g. /forward_position_controller/commands)"),
    joint_states_topic: z.string().min(1).default("joint_states").describe("Topic of the arm's sensor_msgs/JointState"),
    n_steps_warmup: z.number().int().min(0).default(5).describe("Steps of the first chunk executed before the second request"),
    n_steps_between_replan: z.number().int().min(1).default(10).describe("Steps between requests after the warm-up"),
    replan_timeout_ms: z.number().positive().default(2000).describe("A request unanswered this long is sent again (and counted)"),
    latency_window: z.number().int().min(1).max(1000).default(20).describe("Request → chunk latencies kept for the early-request estimate (p95); warm-up answers excluded"),
    blend_schedule: z.enum(BLEND_SCHEDULES).default("constant").describe("How a new chunk is blended with the older ones where they overlap"),
    blend_alpha: z.number().min(0).max(1).default(0.7).describe("constant: the new chunk's weight (0.7 = LeRobot's weighted_average)"),
    blend_steps: z.number().int().min(0).default(10).describe("linear, exponential: ramp length in steps of the new chunk"),
    ensemble_m: z.number().default(0.01).describe("temporal_ensembling: m in exp(-m·i), i = 0 the oldest chunk (ACT)"),
    align_offset: z.boolean().default(true).describe("Remove the jump between the command and a new chunk at switch-over, faded out over align_fade_s"),
    align_fade_s: z.number().min(0).max(10).default(0.3).describe("Time over which the switch-over offset fades to zero, s"),
    max_joint_velocity_rad_s: z.array(z.number().positive()).min(1).default([2.0]).describe("Velocity limit between consecutive commands, rad/s: one value for all joints or one per joint"),
    joint_position_min_rad: z.array(z.number()).default([]).describe("Lower position limits, rad, one per joint; empty = no clamp (the controller's limits apply)"),
    joint_position_max_rad: z.array(z.number()).default([]).describe("Upper position limits, rad, one per joint; empty = no clamp"),
    max_chunk_age_ms: z.number().positive().default(1000).describe("A chunk older than this on arrival (arrival − its stamp) is dropped and counted"),
  })
  .superRefine((p, ctx) => {
    const n = p.joint_names.length;
    if (new Set(p.joint_names).size !== n) ctx.addIssue({ code: "custom", path: ["joint_names"], message: "names a joint twice" });
    if (p.max_joint_velocity_rad_s.length !== 1 && p.max_joint_velocity_rad_s.length !== n) {
      ctx.addIssue({ code: "custom", path: ["max_joint_velocity_rad_s"], message: `has ${p.max_joint_velocity_rad_s.length} values; expected one, or one per joint (${n})` });
    }
    for (const key of ["joint_position_min_rad", "joint_position_max_rad"] as const) {
      if (p[key].length !== 0 && p[key].length !== n) ctx.addIssue({ code: "custom", path: [key], message: `has ${p[key].length} values; expected none, or one per joint (${n})` });
    }
    if (p.joint_position_min_rad.length !== p.joint_position_max_rad.length) {
      ctx.addIssue({ code: "custom", path: ["joint_position_max_rad"], message: "must be given together with joint_position_min_rad (both empty or both one per joint)" });
    } else if (p.joint_position_min_rad.some((low, j) => !(low < p.joint_position_max_rad[j]!))) {
      ctx.addIssue({ code: "custom", path: ["joint_position_max_rad"], message: "each upper limit must be above its lower limit" });
    }
  });

export type ChunkBlenderParameters = z.infer<typeof chunkBlenderParameters>;

/** Parameters that shape publishers and subscriptions: they apply when the node starts. */
const AT_START = ["joint_names", "command_interface", "command_topic", "joint_states_topic"];
const DIAGNOSTICS_PERIOD_NS = 1_000_000_000n;

export const chunkBlenderNode = defineNode({
  name: "chunk_blender",
  description: "Real-time chunk execution: samples, blends and rate-limits action chunks into joint commands at the control rate",
  parameters: chunkBlenderParameters,
  create(graph, parameters) {
    const node = new ChunkBlenderNode(graph, parameters);
    return { shutdown: () => node.shutdown() };
  },
});

export function blenderSettings(p: ChunkBlenderParameters): BlenderSettings {
  return {
    jointNames: p.joint_names,
    controlPeriodS: 1 / p.control_rate_hz,
    blend: { schedule: p.blend_schedule, alpha: p.blend_alpha, steps: p.blend_steps, ensembleM: p.ensemble_m },
    alignOffset: p.align_offset,
    alignFadeS: p.align_fade_s,
    limits: { maxJointVelocityRadS: p.max_joint_velocity_rad_s, positionMinRad: p.joint_position_min_rad, positionMaxRad: p.joint_position_max_rad },
    maxChunkAgeMs: p.max_chunk_age_ms,
  };
}

export function replanSettings(p: ChunkBlenderParameters): ReplanSettings {
  return { warmupSteps: p.n_steps_warmup, stepsBetweenReplan: p.n_steps_between_replan, timeoutMs: p.replan_timeout_ms, latencyWindow: p.latency_window };
}

/** The command as the configured message type; `periodNs` is the control period now. */
type CommandPublisher = (stampNs: bigint, positionsRad: Float64Array, periodNs: bigint) => void;

function commandPublisher(graph: Graph, p: ChunkBlenderParameters): CommandPublisher {
  const names = [...p.joint_names];
  const empty = new Float64Array(0);
  switch (p.command_interface) {
    case "joint_state": {
      const publisher = graph.createPublisher("sensor_msgs/msg/JointState", p.command_topic, "reliable");
      return (stampNs, positionsRad) => publisher.publish({ header: makeHeader(stampNs), name: names, position: positionsRad, velocity: empty, effort: empty });
    }
    case "float64_multi_array": {
      const publisher = graph.createPublisher("std_msgs/msg/Float64MultiArray", p.command_topic, "reliable");
      return (_stampNs, positionsRad) => publisher.publish({ layout: { dim: [], data_offset: 0 }, data: positionsRad });
    }
    case "joint_trajectory": {
      const publisher = graph.createPublisher("trajectory_msgs/msg/JointTrajectory", p.command_topic, "reliable");
      // A zero header stamp tells joint_trajectory_controller to start on receipt: no clock agreement needed.
      return (_stampNs, positionsRad, periodNs) =>
        publisher.publish({
          header: makeHeader(0n),
          joint_names: names,
          points: [{ positions: positionsRad, velocities: empty, accelerations: empty, effort: empty, time_from_start: timeFromNs(periodNs) }],
        });
    }
  }
}

class ChunkBlenderNode {
  private readonly blender: ChunkBlender;
  private readonly replan: ReplanScheduler;
  private readonly diagnostics: Diagnostics;
  private readonly publishCommand: CommandPublisher;
  private readonly replanPublisher: Publisher<Pi0fastRosReplanRequest>;
  private readonly subscriptions;
  private timer: Timer;
  private nextDiagnosticsNs: bigint | undefined;
  /** The verdict on the last chunk that arrived. */
  private lastVerdict: ChunkVerdict | undefined;
  private stopped = false;

  constructor(
    private readonly graph: Graph,
    private parameters: ChunkBlenderParameters,
  ) {
    this.blender = new ChunkBlender(blenderSettings(parameters));
    this.replan = new ReplanScheduler(replanSettings(parameters));
    this.diagnostics = new Diagnostics(graph);
    this.publishCommand = commandPublisher(graph, parameters);
    this.replanPublisher = graph.createPublisher("pi0fast_ros/msg/ReplanRequest", "replan_request", "reliable");
    this.subscriptions = [
      graph.createSubscription("pi0fast_ros/msg/ActionChunk", "action_chunk", "reliable", (chunk) => this.onChunk(chunk)),
      // Best effort matches both reliable and sensor-data publishers of joint states.
      graph.createSubscription("sensor_msgs/msg/JointState", parameters.joint_states_topic, "sensor", (state) => void this.blender.observeJointState(state.name, state.position)),
    ];
    this.timer = this.startTimer();
    graph.onParametersChanged<ChunkBlenderParameters>((values, changed) => {
      const previousRate = this.parameters.control_rate_hz;
      this.parameters = values;
      const atStart = changed.filter((name) => AT_START.includes(name));
      if (atStart.length > 0) graph.logger.warn(`${atStart.join(", ")}: applied when the node restarts`);
      const running = this.blender.jointNames.length;
      const fits = [values.max_joint_velocity_rad_s.length === 1 || values.max_joint_velocity_rad_s.length === running, values.joint_position_min_rad.length === 0 || values.joint_position_min_rad.length === running];
      if (fits.every(Boolean)) this.blender.updateSettings({ ...blenderSettings(values), jointNames: this.blender.jointNames });
      else graph.logger.error(`limits for ${values.joint_names.length} joints do not fit the ${running} joints running: blending and limits left unchanged until the node restarts`);
      this.replan.updateSettings(replanSettings(values));
      if (values.control_rate_hz !== previousRate) {
        this.timer.cancel();
        this.timer = this.startTimer();
      }
    });
    graph.logger.info(`commanding ${parameters.joint_names.join(", ")} at ${parameters.control_rate_hz} Hz on '${graph.resolveTopic(parameters.command_topic)}' (${parameters.command_interface}); waiting for '${graph.resolveTopic(parameters.joint_states_topic)}'`);
  }

  shutdown(): void {
    this.stopped = true;
    this.timer.cancel();
    for (const subscription of this.subscriptions) subscription.destroy();
  }

  private startTimer(): Timer {
    return this.graph.createTimer(this.periodNs(), () => this.tick());
  }

  private periodNs(): bigint {
    return BigInt(Math.round(1e9 / this.parameters.control_rate_hz));
  }

  private tick(): void {
    if (this.stopped) return;
    const nowNs = this.graph.nowNs();
    const stateBefore = this.blender.state;
    const command = this.blender.tick(nowNs);
    if (command !== undefined) this.publishCommand(nowNs, command, this.periodNs());
    const execution = this.blender.execution(nowNs);
    const decision = this.replan.decide(nowNs, execution, command !== undefined);
    if (decision !== undefined) {
      this.replanPublisher.publish({ header: makeHeader(nowNs), request_id: decision.requestId, current_chunk_id: execution.chunkId, current_step: execution.step });
      if (decision.why === "retry") this.graph.logger.warn(`replan request unanswered for ${this.parameters.replan_timeout_ms} ms: sent again (request ${decision.requestId})`);
    }
    const underrunStarted = this.blender.state === "underrun" && stateBefore !== "underrun";
    if (underrunStarted || this.nextDiagnosticsNs === undefined || nowNs >= this.nextDiagnosticsNs) this.report(nowNs);
  }

  private onChunk(message: Pi0fastRosActionChunk): void {
    if (this.stopped) return;
    const nowNs = this.graph.nowNs();
    this.replan.onChunkArrival(nowNs);
    const verdict = this.blender.offerChunk(message, nowNs);
    this.lastVerdict = verdict;
    if (!verdict.accepted) this.graph.logger.warn(`dropped ${verdict.detail}`);
    this.report(nowNs);
  }

  private report(nowNs: bigint): void {
    this.nextDiagnosticsNs = nowNs + DIAGNOSTICS_PERIOD_NS;
    const b = this.blender.counters;
    const r = this.replan.counters;
    const state = this.blender.state;
    const latencies = this.replan.latencyWindowMs;
    const dropped = DROP_REASONS.reduce((sum, reason) => sum + b.dropped[reason], 0);
    const command = this.blender.lastCommand;
    const present = this.blender.presentPosition;
    let trackingErrorRad = 0;
    if (command !== undefined && present !== undefined) for (let j = 0; j < command.length; j++) trackingErrorRad = Math.max(trackingErrorRad, Math.abs(command[j]! - present[j]!));
    const controlLevel: DiagnosticLevel = state === "tracking" || state === "holding" ? "ok" : "warn";
    const controlMessage = {
      waiting_for_joint_state: `waiting for joint states on '${this.graph.resolveTopic(this.parameters.joint_states_topic)}': nothing commanded`,
      holding: "holding the arm's position: no chunk yet",
      tracking: "tracking chunks",
      underrun: "chunks ran out: holding the last command",
    }[state];
    const warmup = this.replan.warmupLatencyMs;
    const last = this.lastVerdict;
    this.diagnostics.report(
      {
        name: "control",
        level: controlLevel,
        message: controlMessage,
        values: {
          state,
          control_rate_hz: this.parameters.control_rate_hz,
          underruns: b.underruns,
          underrun_ticks: b.underrunTicks,
          rate_limited_ticks: b.rateLimitedTicks,
          blends: b.blends,
          skipped_steps_last: b.lastSkippedSteps,
          skipped_steps_total: b.skippedStepsTotal,
          tracking_error_max_rad: trackingErrorRad.toFixed(4),
        },
      },
      {
        name: "chunks",
        level: last !== undefined && !last.accepted ? "warn" : "ok",
        message: last !== undefined && !last.accepted ? `last chunk dropped: ${last.detail}` : `${b.chunksAccepted} accepted, ${dropped} dropped`,
        values: {
          accepted: b.chunksAccepted,
          repaired: b.chunksRepaired,
          dropped,
          ...Object.fromEntries(DROP_REASONS.map((reason) => [`dropped_${reason}`, b.dropped[reason]])),
          chunk_age_ms: b.lastChunkAgeMs === undefined ? "" : b.lastChunkAgeMs.toFixed(1),
          latency_p50_ms: latencies.length > 0 ? percentile(latencies, 0.5).toFixed(1) : "",
          latency_p95_ms: latencies.length > 0 ? percentile(latencies, 0.95).toFixed(1) : "",
          warmup_latency_ms: warmup === undefined ? "" : warmup.toFixed(1),
          replan_requests: r.requests,
          replan_timeouts: r.timeouts,
        },
      },
    );
  }
}
