/**
 * The controller node on a simulated-clock LocalBus, wired to a simulated arm through a MemoryTransport
 * whose traffic is logged with the bus time: tests decode what reached the servos byte for byte.
 */
import { LocalBus, type LocalGraph } from "../../src/ros/local-graph.js";
import { startSo100Controller, so100ControllerParameters, type So100ControllerParameters } from "../../src/nodes/so100_controller.js";
import { armJoints, type ArmJoint } from "../../src/so100/arm.js";
import { MemoryTransport } from "../../src/so100/bus.js";
import { SO100_JOINTS, type Calibration } from "../../src/so100/calibration.js";
import { REGISTERS, decodeRegister } from "../../src/so100/control-table.js";
import { FrameParser, Instruction, type Frame } from "../../src/so100/protocol.js";
import { SIM_CALIBRATION, SimulatedArm } from "../../src/so100/sim-arm.js";
import type { DiagnosticMsgsDiagnosticArray, SensorMsgsJointState } from "../../src/msgs/messages.js";
import type { NodeHandle } from "../../src/ros/graph.js";

export interface Traffic {
  atNs: bigint;
  instructions: Frame[];
  replies: Frame[];
}

export interface GoalWrite {
  atNs: bigint;
  /** Goal ticks by joint index (SO100_JOINTS order). */
  goals: number[];
}

function framesOf(bytes: Uint8Array): Frame[] {
  const parser = new FrameParser();
  parser.push(bytes);
  const frames: Frame[] = [];
  for (let r = parser.next(); r !== undefined; r = parser.next()) if (r.kind === "frame") frames.push(r);
  return frames;
}

export interface ControllerFixture {
  bus: LocalBus;
  graph: LocalGraph;
  driver: LocalGraph;
  sim: SimulatedArm;
  joints: ArmJoint[];
  traffic: Traffic[];
  /** How many transports the node opened (reconnects open more). */
  opened: number;
  transport: MemoryTransport;
  handle: NodeHandle;
  jointStates: SensorMsgsJointState[];
  diagnostics: DiagnosticMsgsDiagnosticArray[];
  command(positions: number[], names?: string[]): void;
  eStop(value: boolean): void;
  advanceMs(ms: number): Promise<void>;
  goalWrites(): GoalWrite[];
  /** Each servo's Present_Position as last reported to the node before `atNs`. */
  presentBefore(atNs: bigint): Map<number, number>;
  /** The latest diagnostic values of a status whose name ends with `name`. */
  status(name: string): { level: number; message: string; values: Record<string, string> } | undefined;
  stop(): Promise<void>;
}

export async function startControllerFixture(
  overrides: Partial<So100ControllerParameters> = {},
  options: { calibration?: Calibration; simCalibration?: Calibration; calibrated?: boolean; prepare?: (sim: SimulatedArm) => void } = {},
): Promise<ControllerFixture> {
  const bus = new LocalBus({ clock: 1_000_000_000n, logSink: () => {} });
  const sim = new SimulatedArm({ nowNs: () => bus.clock.nowNs(), calibration: options.simCalibration ?? SIM_CALIBRATION, ...(options.calibrated !== undefined ? { calibrated: options.calibrated } : {}) });
  options.prepare?.(sim);
  const traffic: Traffic[] = [];
  const peer = {
    receive(bytes: Uint8Array): Uint8Array {
      const reply = sim.receive(bytes);
      traffic.push({ atNs: bus.clock.nowNs(), instructions: framesOf(bytes), replies: framesOf(reply) });
      return reply;
    },
  };
  const graph = bus.createGraph("so100_controller", { namespace: "/so100", parameters: { read_rate_hz: 50, ...overrides } });
  const driver = bus.createGraph("driver", { namespace: "/so100" });
  const jointStates: SensorMsgsJointState[] = [];
  const diagnostics: DiagnosticMsgsDiagnosticArray[] = [];
  driver.createSubscription("sensor_msgs/msg/JointState", "joint_states", "reliable", (m) => void jointStates.push(m));
  driver.createSubscription("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", { profile: "reliable", depth: 100 }, (m) => void diagnostics.push(m));
  const parameters = graph.declareParameters(so100ControllerParameters);
  const fixture = {
    bus,
    graph,
    driver,
    sim,
    joints: armJoints(SO100_JOINTS, options.calibration ?? SIM_CALIBRATION, "calibration"),
    traffic,
    opened: 0,
    transport: undefined as unknown as MemoryTransport,
    handle: undefined as unknown as NodeHandle,
    jointStates,
    diagnostics,
  } as ControllerFixture;
  const commands =
    parameters.command_type === "joint_state"
      ? driver.createPublisher("sensor_msgs/msg/JointState", "joint_command", "reliable")
      : undefined;
  const arrays = parameters.command_type === "float64_multi_array" ? driver.createPublisher("std_msgs/msg/Float64MultiArray", "joint_command", "reliable") : undefined;
  const eStop = driver.createPublisher("std_msgs/msg/Bool", "e_stop", "latched");
  fixture.command = (positions, names = [...SO100_JOINTS]) => {
    if (commands !== undefined) commands.publish({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: "" }, name: names, position: Float64Array.from(positions), velocity: new Float64Array(), effort: new Float64Array() });
    else arrays!.publish({ layout: { dim: [], data_offset: 0 }, data: Float64Array.from(positions) });
  };
  fixture.eStop = (value) => eStop.publish({ data: value });
  fixture.advanceMs = (ms) => bus.advanceBy(BigInt(Math.round(ms * 1e6)));
  fixture.goalWrites = () =>
    traffic.flatMap((t) =>
      t.instructions
        .filter((f) => f.code === Instruction.SYNC_WRITE && f.parameters[0] === REGISTERS.Goal_Position.address)
        .map((f) => {
          const goals: number[] = [];
          for (let at = 2; at + 3 <= f.parameters.length; at += 3) goals[f.parameters[at]! - 1] = decodeRegister(REGISTERS.Goal_Position, f.parameters, at + 1);
          return { atNs: t.atNs, goals };
        }),
    );
  fixture.presentBefore = (atNs) => {
    const present = new Map<number, number>();
    for (const t of traffic) {
      if (t.atNs > atNs) break;
      const read = t.instructions.find((f) => f.code === Instruction.SYNC_READ || f.code === Instruction.READ);
      if (read === undefined) continue;
      const address = read.code === Instruction.SYNC_READ ? read.parameters[0] : read.parameters[0];
      if (address !== REGISTERS.Present_Position.address) continue;
      for (const reply of t.replies) if (reply.code === 0 && reply.parameters.length >= 2) present.set(reply.id, decodeRegister(REGISTERS.Present_Position, reply.parameters, 0));
    }
    return present;
  };
  fixture.status = (name) => {
    for (let i = diagnostics.length - 1; i >= 0; i--) {
      const status = diagnostics[i]!.status.find((s) => s.name.endsWith(name));
      if (status !== undefined) return { level: status.level, message: status.message, values: Object.fromEntries(status.values.map((v) => [v.key, v.value])) };
    }
    return undefined;
  };
  fixture.handle = await startSo100Controller(graph, parameters, {
    openTransport: async () => {
      fixture.opened++;
      fixture.transport = new MemoryTransport(peer);
      return fixture.transport;
    },
  });
  await bus.flush();
  fixture.stop = async () => {
    await fixture.handle.shutdown();
    bus.close();
  };
  return fixture;
}

/** Calls one of the node's services from the driver node. */
export function callEnableTorque(fixture: ControllerFixture, data: boolean) {
  return fixture.driver.callService("std_srvs/srv/SetBool", "/so100/so100_controller/enable_torque", { data });
}

export function callHold(fixture: ControllerFixture) {
  return fixture.driver.callService("std_srvs/srv/Trigger", "/so100/so100_controller/hold", {});
}
