/**
 * The SO-100 / SO-101 controller node: `joint_command` (radians) → goal positions on the Feetech bus,
 * `joint_states` and `/diagnostics` back. Layers as in ros2_control: the bus and the arm
 * (src/so100/) talk to the servos, the pure limiter and command checks decide every goal, and this node
 * only sequences them on a Graph.
 *
 * Safety: every goal goes through the GoalLimiter (joint limits, velocity limit); a malformed command is
 * rejected whole; torque stays off until `~/enable_torque` unless `torque_on_start`; no fresh command for
 * `command_timeout_ms`, `e_stop`, `~/hold`, a reconnect or a failed read all hold the present position,
 * and following resumes only on a command received after that.
 */
import { z } from "zod";
import { InputError } from "../errors.js";
import { makeHeader, type SensorMsgsJointState, type StdMsgsFloat64MultiArray } from "../msgs/messages.js";
import { Diagnostics, type DiagnosticReport } from "../ros/diagnostics.js";
import { defineNode, type Graph, type NodeHandle, type Publisher } from "../ros/graph.js";
import { So100Arm, armJoints, type ArmJoint, type PresentState, type ServoTelemetry } from "../so100/arm.js";
import { BusError, FeetechBus, MemoryTransport, openSerialTransport, type BusTransport } from "../so100/bus.js";
import { SO100_JOINTS, type Calibration } from "../so100/calibration.js";
import { readCalibrationFile } from "../so100/calibration-file.js";
import { arrayCommand, jointStateCommand, type CommandVerdict } from "../so100/commands.js";
import { GoalLimiter, clampTicks } from "../so100/limits.js";
import { describeStatusError } from "../so100/protocol.js";
import { SIM_CALIBRATION, SimulatedArm } from "../so100/sim-arm.js";
import { ticksToRadians } from "../so100/units.js";

export const so100ControllerParameters = z.object({
  mode: z.enum(["hardware", "sim"]).default("sim").describe("hardware: the servos on `port`; sim: the built-in simulated arm, in memory, behind the same protocol"),
  port: z.string().default("/dev/ttyACM0").describe("Serial device of the servo bus adapter (hardware mode)"),
  baudrate: z.number().int().positive().default(1_000_000).describe("Bus baud rate (the STS3215 ships at 1 Mbaud)"),
  calibration_file: z.string().default("").describe("LeRobot calibration JSON (lerobot-calibrate writes ~/.cache/huggingface/lerobot/calibration/robots/so101_follower/<id>.json); required in hardware mode, empty in sim mode = the simulated arm's"),
  write_calibration: z.boolean().default(false).describe("Servo homing offsets or limits differ from the file: write the file's values (true) or refuse to move (false, LeRobot's rule)"),
  joint_names: z.array(z.string()).min(1).default([...SO100_JOINTS]).describe("Joints in joint_states and array-command order, named as in the calibration file"),
  command_type: z.enum(["joint_state", "float64_multi_array"]).default("joint_state").describe("joint_command type: sensor_msgs/JointState by name, or std_msgs/Float64MultiArray in joint_names order"),
  read_rate_hz: z.number().positive().max(1000).default(50).describe("Present positions read and joint_states published per second"),
  command_timeout_ms: z.number().positive().default(500).describe("Watchdog: no fresh joint_command for this long holds the present position"),
  max_joint_velocity_rad_s: z.number().positive().max(20).default(1.5).describe("No goal moves any joint faster than this"),
  torque_on_start: z.boolean().default(false).describe("Switch torque on at start; otherwise it stays off until ~/enable_torque"),
  e_stop_action: z.enum(["hold", "torque_off"]).default("hold").describe("On e_stop true: hold the present position, or switch torque off (then it stays off until ~/enable_torque)"),
  bus_timeout_ms: z.number().positive().max(1000).default(20).describe("Time for the replies of one bus transaction"),
  bus_retries: z.number().int().min(0).max(10).default(2).describe("Retries of a transaction whose reply is missing, corrupt or flags a servo error"),
  reconnect_interval_ms: z.number().positive().default(1000).describe("After the port is lost: time between reconnection attempts"),
  diagnostics_rate_hz: z.number().positive().max(50).default(1).describe("Servo telemetry (voltage, temperature, load, status) read and reported per second"),
});

export type So100ControllerParameters = z.infer<typeof so100ControllerParameters>;

/** How far outside its limits a joint may be when torque goes on (it is then driven to the limit). */
const TORQUE_ON_TOLERANCE_RAD = 0.05;

export interface So100ControllerOptions {
  /** Opens the bus transport instead of the serial port (hardware) or a new simulated arm (sim). */
  openTransport?: () => Promise<BusTransport>;
}

export const so100ControllerNode = defineNode({
  name: "so100_controller",
  description: "SO-100 / SO-101 arm: joint_command → Feetech STS3215 goals (limits, velocity limit, watchdog, e-stop), joint_states and diagnostics",
  parameters: so100ControllerParameters,
  create: (graph, parameters) => startSo100Controller(graph, parameters),
});

export async function startSo100Controller(graph: Graph, parameters: So100ControllerParameters, options: So100ControllerOptions = {}): Promise<NodeHandle> {
  const node = new So100Controller(graph, parameters, options);
  await node.start();
  return { shutdown: () => node.shutdown() };
}

type HoldReason = "start" | "watchdog" | "hold service" | "e-stop" | "reconnect" | "torque on" | "torque off" | "no state";

interface Connection {
  transport: BusTransport;
  bus: FeetechBus;
  arm: So100Arm;
}

class So100Controller {
  private readonly joints: ArmJoint[];
  private readonly calibrationSource: string;
  private readonly diagnostics: Diagnostics;
  private readonly jointStates: Publisher<SensorMsgsJointState>;
  private limiter: GoalLimiter;
  private connection: Connection | undefined;
  private disconnectedReason: string | undefined;
  private lastReconnectNs: bigint | undefined;
  private present: PresentState | undefined;
  /** False after a failed read: no goal is sent on a state that is not fresh. */
  private presentFresh = false;
  private targetRad: Float64Array | undefined;
  private lastCommandNs: bigint | undefined;
  private holdSinceNs = 0n;
  private holdReason: HoldReason = "start";
  private following = false;
  private holdLatched = false;
  private eStop = false;
  private torqueOn = false;
  private telemetry: ServoTelemetry[] = [];
  private lastBusError: string | undefined;
  private lastRejection: string | undefined;
  private readonly counts = { accepted: 0, rejected: 0, clamped: 0, ignored: 0, goalsWritten: 0 };
  private operations: Promise<void> = Promise.resolve();
  private stepQueued = false;
  private tickQueued = false;
  private stopped = false;

  constructor(
    private readonly graph: Graph,
    private parameters: So100ControllerParameters,
    private readonly options: So100ControllerOptions,
  ) {
    const p = parameters;
    let calibration: Calibration;
    if (p.calibration_file !== "") {
      calibration = readCalibrationFile(p.calibration_file, "calibration_file");
      this.calibrationSource = p.calibration_file;
    } else if (p.mode === "sim") {
      calibration = SIM_CALIBRATION;
      this.calibrationSource = "the simulated arm's calibration";
    } else {
      throw new InputError("calibration_file is empty: hardware mode needs the arm's LeRobot calibration (lerobot-calibrate writes ~/.cache/huggingface/lerobot/calibration/robots/so101_follower/<id>.json)");
    }
    this.joints = armJoints(p.joint_names, calibration, this.calibrationSource);
    this.limiter = this.makeLimiter();
    this.diagnostics = new Diagnostics(graph, p.mode === "sim" ? "so100 simulated arm" : p.port);
    this.jointStates = graph.createPublisher("sensor_msgs/msg/JointState", "joint_states", "reliable");

    // Only the freshest command matters; best effort also matches best-effort publishers.
    if (p.command_type === "joint_state") {
      graph.createSubscription("sensor_msgs/msg/JointState", "joint_command", { profile: "sensor", depth: 1 }, (message) => this.onCommand(this.checkJointState(message)));
    } else {
      graph.createSubscription("std_msgs/msg/Float64MultiArray", "joint_command", { profile: "sensor", depth: 1 }, (message) => this.onCommand(this.checkArray(message)));
    }
    graph.createSubscription("std_msgs/msg/Bool", "e_stop", "latched", (message) => this.serialized(() => this.setEStop(message.data)));
    graph.createService("std_srvs/srv/SetBool", "~/enable_torque", (request) => this.answer(() => this.setTorque(request.data)));
    graph.createService("std_srvs/srv/Trigger", "~/hold", () => this.answer(() => this.holdService()));
    graph.onParametersChanged<So100ControllerParameters>((values, changed) => {
      this.parameters = values;
      if (changed.includes("max_joint_velocity_rad_s")) {
        void this.serialized(async () => {
          // The new limit applies from the last goal on.
          const goal = this.limiter.goalTicks;
          this.limiter = this.makeLimiter();
          if (goal !== undefined) this.limiter.reset(goal, this.graph.nowNs());
        });
      }
      const restart = changed.filter((name) => ["mode", "port", "baudrate", "calibration_file", "write_calibration", "joint_names", "command_type", "read_rate_hz", "diagnostics_rate_hz"].includes(name));
      if (restart.length > 0) graph.logger.warn(`parameter(s) ${restart.join(", ")} take effect when the node restarts`);
    });
  }

  private makeLimiter(): GoalLimiter {
    return new GoalLimiter({
      limits: this.joints.map((joint) => joint.limits),
      maxVelocityRadS: this.parameters.max_joint_velocity_rad_s,
      maxStepIntervalS: 2 / this.parameters.read_rate_hz,
    });
  }

  async start(): Promise<void> {
    const connection = await this.open();
    try {
      await connection.arm.connect({ writeCalibration: this.parameters.write_calibration, configure: true, log: (message) => this.graph.logger.info(message) });
    } catch (error) {
      await connection.transport.close();
      throw error;
    }
    this.attach(connection);
    this.present = await connection.arm.readPresent();
    this.presentFresh = true;
    this.limiter.reset(this.present.ticks, this.graph.nowNs());
    if (this.parameters.torque_on_start) {
      const refused = await this.setTorque(true);
      if (!refused.success) throw new InputError(`torque_on_start: ${refused.message}`);
    }
    const p = this.parameters;
    this.graph.createTimer(BigInt(Math.round(1e9 / p.read_rate_hz)), () => this.onTick());
    this.graph.createTimer(BigInt(Math.round(1e9 / p.diagnostics_rate_hz)), () => this.serialized(() => this.reportDiagnostics()));
    this.graph.logger.info(
      `${p.mode === "sim" ? "simulated arm" : `servos on ${p.port}`} connected (${this.joints.map((j) => `${j.name}=${j.id}`).join(", ")}); torque ${this.torqueOn ? "on" : "off (call ~/enable_torque)"}`,
    );
    await this.reportDiagnostics();
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    await this.operations;
    const connection = this.connection;
    this.connection = undefined;
    if (connection === undefined) return;
    // Leave a real arm holding where it is (torque unchanged). Nothing here may use the node's clock: on
    // ROS a signal may already have shut the context down.
    if (this.torqueOn && this.parameters.mode === "hardware") {
      try {
        const present = await connection.arm.readPresent();
        await connection.arm.writeGoals(Array.from(present.ticks, (ticks, j) => clampTicks(ticks, this.joints[j]!.limits)));
      } catch (error) {
        this.graph.logger.warn(`at shutdown: could not hold the present position (${describeError(error)})`);
      }
    }
    await connection.transport.close();
  }

  private async open(): Promise<Connection> {
    const p = this.parameters;
    const transport =
      this.options.openTransport !== undefined
        ? await this.options.openTransport()
        : p.mode === "sim"
          ? new MemoryTransport(new SimulatedArm({ calibration: Object.fromEntries(this.joints.map((j) => [j.name, j.calibration])), nowNs: () => this.graph.nowNs() }))
          : await openSerialTransport(p.port, p.baudrate);
    const bus = new FeetechBus(transport, { timeoutMs: p.bus_timeout_ms, retries: p.bus_retries });
    return { transport, bus, arm: new So100Arm(bus, this.joints, this.calibrationSource) };
  }

  private attach(connection: Connection): void {
    this.connection = connection;
    this.disconnectedReason = undefined;
    connection.bus.onClose((reason) => {
      if (this.connection !== connection) return;
      this.connection = undefined;
      this.presentFresh = false;
      this.following = false;
      this.disconnectedReason = reason;
      this.lastReconnectNs = this.graph.nowNs();
      this.graph.logger.error(`lost the servo bus on ${connection.transport.description} (${reason}); reconnecting every ${this.parameters.reconnect_interval_ms} ms`);
      this.diagnostics.report(this.busReport());
    });
  }

  /** Runs bus work one piece at a time (a command, a tick and a service never interleave on the bus). */
  private serialized(work: () => Promise<void>): Promise<void> {
    const run = this.operations.then(async () => {
      if (this.stopped) return;
      try {
        await work();
      } catch (error) {
        this.onBusError(error);
      }
    });
    this.operations = run;
    return run;
  }

  private serializedResult<R>(work: () => Promise<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      void this.serialized(async () => {
        try {
          resolve(await work());
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  /** A service's work in turn with the rest; a bus failure is answered as one, not left unanswered. */
  private answer(work: () => Promise<{ success: boolean; message: string }>): Promise<{ success: boolean; message: string }> {
    return this.serializedResult(work).catch((error: unknown) => {
      if (!(error instanceof BusError)) throw error;
      this.lastBusError = error.message;
      return { success: false, message: `servo bus: ${error.message}` };
    });
  }

  private onBusError(error: unknown): void {
    if (!(error instanceof BusError)) throw error;
    this.lastBusError = error.message;
    this.graph.logger.warn(`servo bus: ${error.message}`);
  }

  // ── commands ──────────────────────────────────────────────────────────

  /** What joints a partial command leaves out keep: the target in force, else the goal. */
  private currentRad(): Float64Array {
    if (this.targetRad !== undefined) return this.targetRad;
    const goal = this.limiter.goalTicks;
    return Float64Array.from(this.joints, (joint, j) => (goal === undefined ? 0 : ticksToRadians(goal[j]!, joint.calibration)));
  }

  private checkJointState(message: SensorMsgsJointState): CommandVerdict {
    return jointStateCommand(message.name, message.position, this.parameters.joint_names, this.joints.map((j) => j.limits), this.currentRad());
  }

  private checkArray(message: StdMsgsFloat64MultiArray): CommandVerdict {
    return arrayCommand(message.data, this.parameters.joint_names, this.joints.map((j) => j.limits));
  }

  private onCommand(verdict: CommandVerdict): Promise<void> {
    if (!verdict.accepted) {
      this.counts.rejected++;
      if (this.lastRejection !== verdict.reason) this.graph.logger.warn(`joint_command rejected: ${verdict.reason}`);
      this.lastRejection = verdict.reason;
      return Promise.resolve();
    }
    if (!this.torqueOn || this.eStop || this.holdLatched || this.connection === undefined) {
      this.counts.ignored++;
      return Promise.resolve();
    }
    this.counts.accepted++;
    if (verdict.clampedJoints.length > 0) this.counts.clamped++;
    this.targetRad = verdict.targetRad;
    this.lastCommandNs = this.graph.nowNs();
    this.following = true;
    return this.requestStep();
  }

  /** One step toward the target soon; a step already waiting will use the freshest target. */
  private requestStep(): Promise<void> {
    if (this.stepQueued) return this.operations;
    this.stepQueued = true;
    return this.serialized(async () => {
      this.stepQueued = false;
      await this.step();
    });
  }

  private async step(): Promise<void> {
    const connection = this.connection;
    if (connection === undefined || !this.following || !this.torqueOn || this.eStop || !this.presentFresh || this.targetRad === undefined) return;
    const target = this.targetRad;
    const targetTicks = Float64Array.from(target, (rad, j) => connection.arm.radToTicks(j, rad));
    const goal = this.limiter.step(targetTicks, this.graph.nowNs());
    if (goal === undefined) return;
    await connection.arm.writeGoals(goal);
    this.counts.goalsWritten++;
  }

  // ── the control tick: read, publish, watchdog, keep moving ───────────

  private onTick(): Promise<void> {
    if (this.tickQueued) return this.operations;
    this.tickQueued = true;
    return this.serialized(async () => {
      this.tickQueued = false;
      await this.tick();
    });
  }

  private async tick(): Promise<void> {
    const connection = this.connection;
    if (connection === undefined) {
      await this.maybeReconnect();
      return;
    }
    try {
      this.present = await connection.arm.readPresent();
      this.presentFresh = true;
    } catch (error) {
      this.presentFresh = false;
      throw error;
    }
    const now = this.graph.nowNs();
    this.jointStates.publish({
      header: makeHeader(now),
      name: [...this.parameters.joint_names],
      position: this.present.positionsRad,
      velocity: this.present.velocitiesRadS,
      effort: new Float64Array(0),
    });
    if (this.following && this.lastCommandNs !== undefined && Number(now - this.lastCommandNs) / 1e6 > this.parameters.command_timeout_ms) {
      this.graph.logger.warn(`no joint_command for ${this.parameters.command_timeout_ms} ms: holding the present position`);
      await this.hold("watchdog", true, this.present);
      this.diagnostics.report(this.busReport());
      return;
    }
    await this.step();
  }

  /**
   * Holds the present position: the goal becomes the present (fresh from the bus), the target is dropped
   * and following waits for the next command.
   */
  private async hold(reason: HoldReason, write = true, present?: PresentState): Promise<void> {
    const connection = this.connection;
    this.following = false;
    this.targetRad = undefined;
    this.holdReason = reason;
    this.holdSinceNs = this.graph.nowNs();
    if (connection === undefined) return;
    const state = present ?? (await connection.arm.readPresent());
    this.present = state;
    this.presentFresh = true;
    const goal = this.limiter.reset(state.ticks, this.graph.nowNs());
    if (write && this.torqueOn) {
      await connection.arm.writeGoals(goal);
      this.counts.goalsWritten++;
    }
  }

  private async setEStop(engaged: boolean): Promise<void> {
    if (engaged === this.eStop) return;
    this.eStop = engaged;
    if (engaged) {
      this.graph.logger.warn(`e_stop: ${this.parameters.e_stop_action === "hold" ? "holding the present position" : "torque off"}`);
      if (this.parameters.e_stop_action === "torque_off") {
        this.following = false;
        this.targetRad = undefined;
        this.holdReason = "e-stop";
        await this.connection?.arm.torqueOff();
        this.torqueOn = false;
      } else {
        await this.hold("e-stop");
      }
    } else {
      this.graph.logger.info(`e_stop released: ${this.torqueOn ? "holding until the next joint_command" : "torque stays off until ~/enable_torque"}`);
      this.holdSinceNs = this.graph.nowNs();
    }
    this.diagnostics.report(this.busReport());
  }

  private async setTorque(enable: boolean): Promise<{ success: boolean; message: string }> {
    const connection = this.connection;
    if (connection === undefined) return { success: false, message: `the servo bus is disconnected (${this.disconnectedReason ?? "not connected"})` };
    if (!enable) {
      this.following = false;
      this.targetRad = undefined;
      this.holdReason = "torque off";
      await connection.arm.torqueOff();
      this.torqueOn = false;
      this.diagnostics.report(this.busReport());
      return { success: true, message: "torque off" };
    }
    if (this.eStop) return { success: false, message: "e_stop is engaged: release it (e_stop false) before switching torque on" };
    const present = await connection.arm.readPresent();
    const outside = this.joints
      .map((joint, j) => ({ joint, rad: present.positionsRad[j]! }))
      .filter(({ joint, rad }) => rad < joint.limits.lowerRad - TORQUE_ON_TOLERANCE_RAD || rad > joint.limits.upperRad + TORQUE_ON_TOLERANCE_RAD);
    if (outside.length > 0) {
      return {
        success: false,
        message: `not switching torque on: ${outside.map(({ joint, rad }) => `${joint.name} at ${rad.toFixed(3)} rad is outside its limits [${joint.limits.lowerRad.toFixed(3)}, ${joint.limits.upperRad.toFixed(3)}]`).join("; ")}; move it inside by hand first`,
      };
    }
    // The goal first: a servo switched on drives to whatever goal it holds.
    await this.hold("torque on", false, present);
    await connection.arm.writeGoals(this.limiter.goalTicks!);
    this.counts.goalsWritten++;
    await connection.arm.torqueOn();
    this.torqueOn = true;
    this.holdLatched = false;
    this.diagnostics.report(this.busReport());
    return { success: true, message: "torque on, holding the present position until the next joint_command" };
  }

  private async holdService(): Promise<{ success: boolean; message: string }> {
    if (this.connection === undefined) return { success: false, message: `the servo bus is disconnected (${this.disconnectedReason ?? "not connected"})` };
    await this.hold("hold service");
    this.holdLatched = true;
    this.diagnostics.report(this.busReport());
    return { success: true, message: "holding the present position; joint_command is ignored until ~/enable_torque true" };
  }

  // ── port loss ─────────────────────────────────────────────────────────

  private async maybeReconnect(): Promise<void> {
    const now = this.graph.nowNs();
    if (this.lastReconnectNs !== undefined && Number(now - this.lastReconnectNs) / 1e6 < this.parameters.reconnect_interval_ms) return;
    this.lastReconnectNs = now;
    let connection: Connection | undefined;
    try {
      connection = await this.open();
      // The servos were checked (or written) at start: a difference now means other servos, so refuse.
      await connection.arm.connect({ writeCalibration: false, configure: false });
      this.torqueOn = await connection.arm.readTorqueEnabled();
    } catch (error) {
      await connection?.transport.close().catch(() => undefined);
      this.disconnectedReason = describeError(error);
      this.diagnostics.report(this.busReport());
      return;
    }
    this.attach(connection);
    await this.hold("reconnect");
    this.graph.logger.info(`servo bus reconnected on ${connection.transport.description}; holding the present position (torque ${this.torqueOn ? "on" : "off"})`);
    this.diagnostics.report(this.busReport());
  }

  // ── diagnostics ───────────────────────────────────────────────────────

  private stateText(): string {
    if (this.connection === undefined) return `disconnected (${this.disconnectedReason ?? "not connected"}); reconnecting every ${this.parameters.reconnect_interval_ms} ms`;
    if (this.eStop) return this.torqueOn ? "e-stop: holding" : "e-stop: torque off";
    if (!this.torqueOn) return "torque off (call ~/enable_torque)";
    if (this.holdLatched) return "holding (~/hold): call ~/enable_torque true to follow again";
    if (this.following) return "following joint_command";
    return `holding (${this.holdReason}) until the next joint_command`;
  }

  private busReport(): DiagnosticReport {
    const bus = this.connection?.bus;
    const connected = this.connection !== undefined;
    const level = !connected ? "error" : this.eStop || !this.presentFresh || this.lastBusError !== undefined ? "warn" : "ok";
    return {
      name: "servo bus",
      level,
      message: this.stateText(),
      values: {
        mode: this.parameters.mode,
        port: this.parameters.mode === "sim" ? "memory" : this.parameters.port,
        connected,
        torque: this.torqueOn,
        e_stop: this.eStop,
        commands_accepted: this.counts.accepted,
        commands_rejected: this.counts.rejected,
        commands_clamped: this.counts.clamped,
        commands_ignored: this.counts.ignored,
        goals_written: this.counts.goalsWritten,
        last_rejection: this.lastRejection ?? "",
        last_bus_error: this.lastBusError ?? "",
        ...(bus !== undefined
          ? {
              transactions: bus.counters.transactions,
              retries: bus.counters.retries,
              timeouts: bus.counters.timeouts,
              corrupt_packets: bus.counters.corruptPackets,
              noise_bytes: bus.counters.noiseBytes,
              servo_errors: bus.counters.servoErrors,
              failed_transactions: bus.counters.failures,
            }
          : {}),
      },
    };
  }

  private async reportDiagnostics(): Promise<void> {
    const connection = this.connection;
    let telemetryError: string | undefined;
    if (connection !== undefined) {
      try {
        this.telemetry = await connection.arm.readTelemetry();
      } catch (error) {
        telemetryError = describeError(error);
        if (!(error instanceof BusError)) throw error;
      }
    }
    const reports: DiagnosticReport[] = [this.busReport()];
    for (const joint of this.joints) {
      const servo = this.telemetry.find((t) => t.id === joint.id);
      const counters = connection?.bus.servo(joint.id);
      const bits = counters?.lastErrorBits ?? servo?.statusBits ?? 0;
      const problems = describeStatusError(bits);
      reports.push({
        name: `servo ${joint.name} (id ${joint.id})`,
        level: connection === undefined || telemetryError !== undefined ? "error" : problems.length > 0 ? "error" : (servo?.temperatureC ?? 0) >= 60 ? "warn" : "ok",
        message: connection === undefined ? "disconnected" : telemetryError !== undefined ? `telemetry not read: ${telemetryError}` : problems.length > 0 ? `reports ${problems.join(", ")}` : "ok",
        values: {
          ...(servo !== undefined ? { voltage_v: servo.voltageV.toFixed(1), temperature_c: servo.temperatureC, load_permille: servo.loadPermille, moving: servo.moving } : {}),
          status_bits: problems.join(", ") || "none",
          retries: counters?.retries ?? 0,
          errors: counters?.errors ?? 0,
        },
      });
    }
    this.diagnostics.report(...reports);
    this.lastBusError = undefined;
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
