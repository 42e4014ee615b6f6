/**
 * The arm: joints on a Feetech bus with their LeRobot calibration and limits. It connects as LeRobot's
 * SOFollower does (ping and model check, same firmware, calibration check, configuration with torque
 * off), reads present positions and servo telemetry, writes goals and switches torque. Ticks ↔ radians go
 * through units.ts; the goal limits are limits.ts's. It never decides what to command.
 */
import { InputError } from "../errors.js";
import { SO101_URDF_LIMITS_RAD, type Calibration, type MotorCalibration } from "./calibration.js";
import type { FeetechBus } from "./bus.js";
import { STS3215_MODEL_NUMBER, type RegisterName } from "./control-table.js";
import { RAD_PER_TICK, jointLimits, type JointLimits } from "./limits.js";
import { radiansToTicks, ticksToRadians } from "./units.js";

export interface ArmJoint {
  readonly name: string;
  readonly id: number;
  readonly calibration: MotorCalibration;
  readonly limits: JointLimits;
}

/** The joints named, with their calibration and limits; a joint the calibration lacks is an error naming it. */
export function armJoints(jointNames: readonly string[], calibration: Calibration, calibrationSource: string): ArmJoint[] {
  if (jointNames.length === 0) throw new InputError("joint_names is empty; expected the arm's joints (shoulder_pan … gripper)");
  const seen = new Set<number>();
  return jointNames.map((name) => {
    const motor = calibration[name];
    if (motor === undefined) throw new InputError(`${calibrationSource}: no calibration for joint '${name}' (it has ${Object.keys(calibration).join(", ") || "none"})`);
    if (seen.has(motor.id)) throw new InputError(`${calibrationSource}: joint '${name}' shares servo id ${motor.id} with another joint`);
    seen.add(motor.id);
    const urdf = (SO101_URDF_LIMITS_RAD as Record<string, readonly [number, number]>)[name];
    return { name, id: motor.id, calibration: motor, limits: jointLimits(name, motor, urdf) };
  });
}

/** The servos' calibration differs from the file: LeRobot's rule is not to move. */
export class CalibrationMismatchError extends InputError {}

export interface ServoTelemetry {
  readonly joint: string;
  readonly id: number;
  readonly voltageV: number;
  readonly temperatureC: number;
  /** Present_Load, per mille of the maximum torque, signed. */
  readonly loadPermille: number;
  readonly statusBits: number;
  readonly moving: boolean;
}

export interface PresentState {
  readonly ticks: Int32Array;
  readonly positionsRad: Float64Array;
  readonly velocitiesRadS: Float64Array;
}

export interface ConnectOptions {
  /** Write the file's calibration into servos that differ (instead of refusing). */
  writeCalibration: boolean;
  /** Write LeRobot's configuration (torque is switched off for it). A reconnect mid-run leaves torque alone. */
  configure: boolean;
  log?: (message: string) => void;
}

const CALIBRATION_REGISTERS = [
  ["Homing_Offset", "homing_offset"],
  ["Min_Position_Limit", "range_min"],
  ["Max_Position_Limit", "range_max"],
] as const satisfies ReadonlyArray<readonly [RegisterName, keyof MotorCalibration]>;

export class So100Arm {
  readonly ids: number[];

  constructor(
    readonly bus: FeetechBus,
    readonly joints: readonly ArmJoint[],
    private readonly calibrationSource: string,
  ) {
    this.ids = joints.map((joint) => joint.id);
  }

  /** LeRobot's SOFollower connect sequence; throws naming what is wrong (missing servo, model, firmware, calibration). */
  async connect(options: ConnectOptions): Promise<void> {
    const port = this.bus.transport.description;
    const missing: string[] = [];
    const wrongModel: string[] = [];
    const firmware = new Map<string, string[]>();
    for (const joint of this.joints) {
      try {
        await this.bus.ping(joint.id);
      } catch (error) {
        missing.push(`${joint.name} (id ${joint.id}): ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      const model = await this.bus.read(joint.id, "Model_Number");
      if (model !== STS3215_MODEL_NUMBER) wrongModel.push(`${joint.name} (id ${joint.id}) is model ${model}`);
      const version = `${await this.bus.read(joint.id, "Firmware_Major_Version")}.${await this.bus.read(joint.id, "Firmware_Minor_Version")}`;
      firmware.set(version, [...(firmware.get(version) ?? []), joint.name]);
    }
    if (missing.length > 0) throw new InputError(`servo check failed on ${port}: missing ${missing.join("; ")}`);
    if (wrongModel.length > 0) throw new InputError(`servo check failed on ${port}: expected STS3215 (model ${STS3215_MODEL_NUMBER}) but ${wrongModel.join(", ")}`);
    if (firmware.size > 1) {
      throw new InputError(`servos on ${port} run different firmware versions (${[...firmware].map(([v, names]) => `${v}: ${names.join(", ")}`).join("; ")}); update them with Feetech's software first`);
    }

    const differences: string[] = [];
    for (const joint of this.joints) {
      for (const [reg, field] of CALIBRATION_REGISTERS) {
        const inServo = await this.bus.read(joint.id, reg);
        if (inServo !== joint.calibration[field]) differences.push(`${joint.name} (id ${joint.id}) ${reg} ${inServo} in the servo, ${joint.calibration[field]} in the file`);
      }
    }
    if (differences.length > 0) {
      if (!options.writeCalibration) {
        throw new CalibrationMismatchError(
          `the servos' calibration differs from ${this.calibrationSource}: ${differences.join("; ")}. Not moving: set write_calibration: true to write the file's values into the servos, or recalibrate the arm (lerobot-calibrate)`,
        );
      }
      options.log?.(`writing the calibration of ${this.calibrationSource} into the servos (${differences.length} value(s) differed)`);
      await this.torqueOff();
      for (const joint of this.joints) for (const [reg, field] of CALIBRATION_REGISTERS) await this.bus.write(joint.id, reg, joint.calibration[field]);
    }

    if (options.configure) {
      await this.torqueOff();
      for (const joint of this.joints) {
        const id = joint.id;
        await this.bus.write(id, "Return_Delay_Time", 0);
        await this.bus.write(id, "Maximum_Acceleration", 254);
        await this.bus.write(id, "Acceleration", 254);
        // Phase bit 4 set makes positions wrap and go negative; LeRobot clears it on the STS3215.
        const phase = await this.bus.read(id, "Phase");
        if ((phase & 0x10) !== 0) await this.bus.write(id, "Phase", phase & ~0x10);
        await this.bus.write(id, "Operating_Mode", 0);
        await this.bus.write(id, "P_Coefficient", 16);
        await this.bus.write(id, "I_Coefficient", 0);
        await this.bus.write(id, "D_Coefficient", 32);
        if (joint.name === "gripper") {
          // LeRobot's limits against burning the gripper motor out.
          await this.bus.write(id, "Max_Torque_Limit", 500);
          await this.bus.write(id, "Protection_Current", 250);
          await this.bus.write(id, "Overload_Torque", 25);
        }
        // Settings stay; EEPROM locked again (torque stays off).
        await this.bus.write(id, "Lock", 1);
      }
    }
  }

  ticksToRad(joint: number, ticks: number): number {
    return ticksToRadians(ticks, this.joints[joint]!.calibration);
  }

  radToTicks(joint: number, rad: number): number {
    return radiansToTicks(rad, this.joints[joint]!.calibration);
  }

  /** Present positions and velocities in one SYNC_READ. */
  async readPresent(): Promise<PresentState> {
    const blocks = await this.bus.syncReadSpan("Present_Position", "Present_Velocity", this.ids);
    const n = this.joints.length;
    const state: PresentState = { ticks: new Int32Array(n), positionsRad: new Float64Array(n), velocitiesRadS: new Float64Array(n) };
    this.joints.forEach((joint, j) => {
      const block = blocks.get(joint.id)!;
      state.ticks[j] = block.get("Present_Position");
      state.positionsRad[j] = this.ticksToRad(j, state.ticks[j]!);
      state.velocitiesRadS[j] = block.get("Present_Velocity") * RAD_PER_TICK;
    });
    return state;
  }

  async readTelemetry(): Promise<ServoTelemetry[]> {
    const blocks = await this.bus.syncReadSpan("Present_Load", "Moving", this.ids);
    return this.joints.map((joint) => {
      const block = blocks.get(joint.id)!;
      return {
        joint: joint.name,
        id: joint.id,
        voltageV: block.get("Present_Voltage") / 10,
        temperatureC: block.get("Present_Temperature"),
        loadPermille: block.get("Present_Load"),
        statusBits: block.get("Status"),
        moving: block.get("Moving") !== 0,
      };
    });
  }

  /** Writes one goal per joint (whole ticks, already limited) in one SYNC_WRITE. */
  async writeGoals(goalTicks: ArrayLike<number>): Promise<void> {
    await this.bus.syncWrite("Goal_Position", this.joints.map((joint, j) => [joint.id, goalTicks[j]!] as const));
  }

  /** Torque on each servo, as LeRobot does: Torque_Enable then Lock. */
  async torqueOn(): Promise<void> {
    for (const id of this.ids) {
      await this.bus.write(id, "Torque_Enable", 1);
      await this.bus.write(id, "Lock", 1);
    }
  }

  async torqueOff(): Promise<void> {
    for (const id of this.ids) {
      await this.bus.write(id, "Torque_Enable", 0);
      await this.bus.write(id, "Lock", 0);
    }
  }

  /** True when every servo has torque on (a power-cycled servo comes back without). */
  async readTorqueEnabled(): Promise<boolean> {
    const values = await this.bus.syncRead("Torque_Enable", this.ids);
    return [...values.values()].every((value) => value === 1);
  }
}
