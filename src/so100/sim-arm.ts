/**
 * A simulated SO-100 / SO-101 arm: six STS3215 servos behind the real protocol, byte for byte. Pure: it
 * takes instruction bytes and a clock and returns status bytes; `sim-serial.ts` puts it on a serial
 * device, `MemoryTransport` (bus.ts) connects it to a bus in-process.
 *
 * What it reproduces of the servo: the whole register table (EEPROM and RAM), read-only registers that
 * ignore writes, EEPROM writes that persist across `powerCycle()` only when written unlocked (Lock = 0),
 * model 777 and a firmware version, `Present_Position = Actual − Homing_Offset`, goals clamped to the
 * position limits, first-order motion toward the goal limited by Goal_Velocity and Acceleration (when
 * torque is on; passive when off), voltage, temperature, load and current that follow the effort,
 * Response_Status_Level, broadcast PING answered by every servo in id order, SYNC_READ answered in the
 * order asked. Faults for tests: corrupted or dropped replies, noise, sticky error bits.
 */
import { SO100_JOINTS, type Calibration } from "./calibration.js";
import { CONTROL_TABLE_BYTES, REGISTERS, STS3215_MODEL_NUMBER, decodeRegister, encodeRegister, registerAt, type RegisterName } from "./control-table.js";
import { BROADCAST_ID, FrameParser, Instruction, statusPacket, type Frame } from "./protocol.js";
import { TICKS_PER_TURN } from "./units.js";

export const SIM_FIRMWARE = { major: 3, minor: 10 } as const;
/** STS3215 no-load speed at 7.4 V (0.222 s / 60°), in ticks per second. */
const NO_LOAD_SPEED_TICKS_S = 3075;
/** Acceleration register unit (ticks/s² per count). */
const ACCELERATION_UNIT = 100;
/** Integration step of the motion model. */
const STEP_S = 0.001;
const AMBIENT_C = 28;

/**
 * A plausible LeRobot calibration of an SO-101 follower (what `lerobot-calibrate` writes), used by the
 * simulated arm and the sim mode when no calibration file is given.
 */
export const SIM_CALIBRATION: Calibration = {
  shoulder_pan: { id: 1, drive_mode: 0, homing_offset: -1470, range_min: 758, range_max: 3292 },
  shoulder_lift: { id: 2, drive_mode: 0, homing_offset: 157, range_min: 612, range_max: 3401 },
  elbow_flex: { id: 3, drive_mode: 0, homing_offset: 1012, range_min: 881, range_max: 3096 },
  wrist_flex: { id: 4, drive_mode: 0, homing_offset: -1030, range_min: 906, range_max: 3208 },
  wrist_roll: { id: 5, drive_mode: 0, homing_offset: 1240, range_min: 0, range_max: 4095 },
  gripper: { id: 6, drive_mode: 0, homing_offset: -1630, range_min: 2031, range_max: 3503 },
};

/** Factory values of the register table (STS3215 as shipped), by name. */
const FACTORY: Partial<Record<RegisterName, number>> = {
  Firmware_Major_Version: SIM_FIRMWARE.major,
  Firmware_Minor_Version: SIM_FIRMWARE.minor,
  Model_Number: STS3215_MODEL_NUMBER,
  Baud_Rate: 0,
  Return_Delay_Time: 250,
  Response_Status_Level: 1,
  Min_Position_Limit: 0,
  Max_Position_Limit: 4095,
  Max_Temperature_Limit: 70,
  Max_Voltage_Limit: 140,
  Min_Voltage_Limit: 40,
  Max_Torque_Limit: 1000,
  Phase: 0x0c,
  Unloading_Condition: 44,
  LED_Alarm_Condition: 47,
  P_Coefficient: 32,
  D_Coefficient: 32,
  I_Coefficient: 0,
  Minimum_Startup_Force: 16,
  CW_Dead_Zone: 1,
  CCW_Dead_Zone: 1,
  Protection_Current: 500,
  Angular_Resolution: 1,
  Homing_Offset: 0,
  Operating_Mode: 0,
  Protective_Torque: 20,
  Protection_Time: 200,
  Overload_Torque: 80,
  Torque_Enable: 0,
  Acceleration: 0,
  Goal_Velocity: 0,
  Torque_Limit: 1000,
  Lock: 1,
  Moving_Velocity_Threshold: 2,
  Maximum_Acceleration: 150,
};

export class SimulatedServo {
  /** The live register image (EEPROM settings as currently in effect, and RAM). */
  readonly memory = new Uint8Array(CONTROL_TABLE_BYTES);
  /** EEPROM contents that survive a power cycle. */
  private readonly flash = new Uint8Array(CONTROL_TABLE_BYTES);
  /** Absolute encoder angle in ticks (0..4095, continuous inside a turn). */
  actualTicks: number;
  velocityTicksPerS = 0;
  temperatureC = AMBIENT_C;
  /** Error bits reported in every status packet (a test sets overload, overheat, …). */
  errorBits = 0;
  private pendingRegWrite: { address: number; data: Uint8Array } | undefined;

  constructor(id: number, actualTicks: number) {
    for (const [name, value] of Object.entries(FACTORY) as Array<[RegisterName, number]>) this.put(name, value);
    this.put("ID", id);
    this.flash.set(this.memory);
    this.actualTicks = actualTicks;
    this.put("Goal_Position", Math.round(this.presentTicks));
  }

  get id(): number {
    return this.memory[REGISTERS.ID.address]!;
  }

  get(name: RegisterName): number {
    return decodeRegister(REGISTERS[name], this.memory, REGISTERS[name].address);
  }

  private put(name: RegisterName, value: number): void {
    this.memory.set(encodeRegister(REGISTERS[name], value), REGISTERS[name].address);
  }

  /** Present_Position = Actual − Homing_Offset, inside one turn. */
  get presentTicks(): number {
    return mod(this.actualTicks - this.get("Homing_Offset"), TICKS_PER_TURN);
  }

  get torqueEnabled(): boolean {
    return this.get("Torque_Enable") !== 0;
  }

  /** What a hand moving the unpowered joint does: sets the present position (torque must be off). */
  moveByHand(presentTicks: number): void {
    if (this.torqueEnabled) throw new Error(`servo ${this.id}: torque is on, the joint cannot be moved by hand`);
    this.actualTicks = mod(presentTicks + this.get("Homing_Offset"), TICKS_PER_TURN);
  }

  /** Settings back from flash, RAM to power-on values; the goal becomes the present position. */
  powerCycle(): void {
    this.memory.set(this.flash.subarray(0, REGISTERS.Torque_Enable.address), 0);
    for (const name of Object.keys(REGISTERS) as RegisterName[]) {
      const reg = REGISTERS[name];
      if (reg.area === "eeprom") this.memory.set(this.flash.subarray(reg.address, reg.address + reg.size), reg.address);
      else if (reg.access === "rw") this.put(name, FACTORY[name] ?? 0);
    }
    this.velocityTicksPerS = 0;
    this.put("Goal_Position", Math.round(this.presentTicks));
  }

  private limits(): [number, number] | undefined {
    const min = this.get("Min_Position_Limit");
    const max = this.get("Max_Position_Limit");
    return min === 0 && max === 0 ? undefined : [min, max];
  }

  /** Applies a WRITE: read-only bytes are ignored, EEPROM bytes reach flash only when unlocked. */
  write(address: number, data: ArrayLike<number>): void {
    const unlocked = this.get("Lock") === 0;
    for (let i = 0; i < data.length; i++) {
      const at = address + i;
      const reg = registerAt(at);
      if (reg === undefined || reg.access === "r") continue;
      this.memory[at] = data[i]!;
      if (reg.area === "eeprom" && unlocked) this.flash[at] = data[i]!;
    }
    const touches = (name: RegisterName) => address < REGISTERS[name].address + REGISTERS[name].size && address + data.length > REGISTERS[name].address;
    if (touches("Goal_Position")) {
      const limits = this.limits();
      const goal = Math.max(0, this.get("Goal_Position"));
      this.put("Goal_Position", limits === undefined ? Math.min(goal, TICKS_PER_TURN - 1) : Math.min(limits[1], Math.max(limits[0], goal)));
    }
    if (touches("Torque_Enable") && !this.torqueEnabled) this.velocityTicksPerS = 0;
  }

  regWrite(address: number, data: Uint8Array): void {
    this.pendingRegWrite = { address, data };
  }

  action(): void {
    if (this.pendingRegWrite === undefined) return;
    this.write(this.pendingRegWrite.address, this.pendingRegWrite.data);
    this.pendingRegWrite = undefined;
  }

  /** Bytes of a READ, the read-only registers brought up to date first. */
  read(address: number, length: number): Uint8Array {
    this.refreshPresent();
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = address + i < this.memory.length ? this.memory[address + i]! : 0;
    return bytes;
  }

  private loadPermille(): number {
    if (!this.torqueEnabled) return 0;
    const error = this.get("Goal_Position") - this.presentTicks;
    return Math.max(-1000, Math.min(1000, Math.round(error * 4)));
  }

  private refreshPresent(): void {
    const load = this.loadPermille();
    this.put("Present_Position", Math.round(this.presentTicks) % TICKS_PER_TURN);
    this.put("Present_Velocity", Math.max(-32767, Math.min(32767, Math.round(this.velocityTicksPerS))));
    this.put("Present_Load", load);
    this.put("Present_Voltage", 121 - Math.round(Math.abs(load) / 250));
    this.put("Present_Temperature", Math.round(this.temperatureC));
    this.put("Status", this.errorBits);
    this.put("Moving", Math.abs(this.velocityTicksPerS) >= 1 ? 1 : 0);
    this.put("Present_Current", Math.round(Math.abs(load) * 1.5));
    this.put("Goal_Position_2", this.get("Goal_Position"));
  }

  /** First-order motion toward the goal over `dtS`, limited by Goal_Velocity and Acceleration. */
  step(dtS: number): void {
    if (this.torqueEnabled && this.get("Operating_Mode") === 0) {
      const present = this.presentTicks;
      const goal = this.get("Goal_Position");
      const p = this.get("P_Coefficient");
      // P 32 (factory) settles with a 40 ms time constant; LeRobot's P 16 is softer.
      const timeConstantS = p > 0 ? 1.28 / p : Infinity;
      const speedLimit = Math.abs(this.get("Goal_Velocity")) || NO_LOAD_SPEED_TICKS_S;
      const acceleration = this.get("Acceleration");
      const accelerationLimit = acceleration > 0 ? acceleration * ACCELERATION_UNIT : Infinity;
      const wanted = Math.max(-speedLimit, Math.min(speedLimit, (goal - present) / timeConstantS));
      const change = Math.max(-accelerationLimit * dtS, Math.min(accelerationLimit * dtS, wanted - this.velocityTicksPerS));
      this.velocityTicksPerS += change;
      let next = present + this.velocityTicksPerS * dtS;
      // Never overshoot the goal within a step, nor leave the turn.
      if ((goal - present) * (goal - next) < 0) {
        next = goal;
        this.velocityTicksPerS = 0;
      }
      next = Math.max(0, Math.min(TICKS_PER_TURN - 1, next));
      this.actualTicks = mod(next + this.get("Homing_Offset"), TICKS_PER_TURN);
    } else {
      this.velocityTicksPerS = 0;
    }
    const heating = (Math.abs(this.loadPermille()) / 1000) * 0.5;
    this.temperatureC += dtS * (heating - (this.temperatureC - AMBIENT_C) / 600);
  }
}

function mod(value: number, modulus: number): number {
  return ((value % modulus) + modulus) % modulus;
}

export interface SimulatedArmOptions {
  /** Servo calibration to start from (by motor name, ids from the file); default `SIM_CALIBRATION`. */
  calibration?: Calibration;
  /** Write the calibration into the servos (as a calibrated arm); false = factory settings. Default true. */
  calibrated?: boolean;
  /** The clock that drives the motion, ns. */
  nowNs: () => bigint;
}

/** Test faults applied to the next status packets the arm sends. */
export interface SimulatedFaults {
  /** Replies sent with a wrong checksum. */
  corruptReplies: number;
  /** Replies not sent at all. */
  dropReplies: number;
  /** Bytes sent before the next reply. */
  noiseBeforeReply?: Uint8Array;
}

export class SimulatedArm {
  readonly servos: SimulatedServo[];
  readonly faults: SimulatedFaults = { corruptReplies: 0, dropReplies: 0 };
  private readonly parser = new FrameParser();
  private readonly nowNs: () => bigint;
  private lastNs: bigint;

  constructor(options: SimulatedArmOptions) {
    const calibration = options.calibration ?? SIM_CALIBRATION;
    this.nowNs = options.nowNs;
    this.lastNs = options.nowNs();
    const motors = Object.entries(calibration).sort(([, a], [, b]) => a.id - b.id);
    if (motors.length === 0) throw new Error("the simulated arm needs at least one motor in its calibration");
    this.servos = motors.map(([, motor]) => {
      const middle = (motor.range_min + motor.range_max) / 2;
      // Start at the calibrated zero pose: present position = range middle.
      const calibrated = options.calibrated ?? true;
      const servo = new SimulatedServo(motor.id, mod(Math.round(middle) + (calibrated ? motor.homing_offset : 0), TICKS_PER_TURN));
      if (calibrated) {
        servo.write(REGISTERS.Lock.address, [0]);
        servo.write(REGISTERS.Homing_Offset.address, encodeRegister(REGISTERS.Homing_Offset, motor.homing_offset));
        servo.write(REGISTERS.Min_Position_Limit.address, encodeRegister(REGISTERS.Min_Position_Limit, motor.range_min));
        servo.write(REGISTERS.Max_Position_Limit.address, encodeRegister(REGISTERS.Max_Position_Limit, motor.range_max));
        servo.write(REGISTERS.Lock.address, [1]);
        servo.write(REGISTERS.Goal_Position.address, encodeRegister(REGISTERS.Goal_Position, Math.round(servo.presentTicks)));
      }
      return servo;
    });
  }

  /** The servo answering to `id` now. */
  servo(id: number): SimulatedServo {
    const servo = this.servos.find((s) => s.id === id);
    if (servo === undefined) throw new Error(`the simulated arm has no servo with id ${id} (ids: ${this.servos.map((s) => s.id).join(", ")})`);
    return servo;
  }

  /** The servo for a joint of SO100_JOINTS (ids 1–6 in LeRobot's order). */
  joint(name: (typeof SO100_JOINTS)[number]): SimulatedServo {
    return this.servo(SO100_JOINTS.indexOf(name) + 1);
  }

  /** Moves every servo to the clock's now. */
  advance(): void {
    const now = this.nowNs();
    let dtS = Number(now - this.lastNs) / 1e9;
    this.lastNs = now;
    if (!(dtS > 0)) return;
    // A long pause (the process was stopped) need not be integrated step by step beyond settling.
    dtS = Math.min(dtS, 10);
    while (dtS > 0) {
      const step = Math.min(STEP_S, dtS);
      for (const servo of this.servos) servo.step(step);
      dtS -= step;
    }
  }

  powerCycle(): void {
    this.advance();
    for (const servo of this.servos) servo.powerCycle();
  }

  /** Feeds bytes from the bus; returns what the servos send back (possibly nothing). */
  receive(bytes: Uint8Array): Uint8Array {
    this.parser.push(bytes);
    const replies: Uint8Array[] = [];
    for (let result = this.parser.next(); result !== undefined; result = this.parser.next()) {
      // A servo ignores a packet it cannot read.
      if (result.kind !== "frame") continue;
      this.advance();
      for (const reply of this.handle(result)) {
        const sent = this.applyFaults(reply);
        if (sent !== undefined) replies.push(sent);
      }
    }
    return concat(replies);
  }

  private applyFaults(reply: Uint8Array): Uint8Array | undefined {
    if (this.faults.dropReplies > 0) {
      this.faults.dropReplies--;
      return undefined;
    }
    let out = reply;
    if (this.faults.corruptReplies > 0) {
      this.faults.corruptReplies--;
      out = reply.slice();
      out[out.length - 1] = out[out.length - 1]! ^ 0x5a;
    }
    if (this.faults.noiseBeforeReply !== undefined) {
      out = concat([this.faults.noiseBeforeReply, out]);
      this.faults.noiseBeforeReply = undefined;
    }
    return out;
  }

  private status(servo: SimulatedServo, parameters: ArrayLike<number> = []): Uint8Array {
    return statusPacket(servo.id, servo.errorBits, parameters);
  }

  private handle(frame: Frame): Uint8Array[] {
    const p = frame.parameters;
    if (frame.id === BROADCAST_ID) {
      switch (frame.code) {
        case Instruction.PING:
          return [...this.servos].sort((a, b) => a.id - b.id).map((servo) => this.status(servo));
        case Instruction.WRITE:
          if (p.length >= 1) for (const servo of this.servos) servo.write(p[0]!, p.subarray(1));
          return [];
        case Instruction.ACTION:
          for (const servo of this.servos) servo.action();
          return [];
        case Instruction.SYNC_WRITE: {
          if (p.length < 2) return [];
          const [address, length] = [p[0]!, p[1]!];
          for (let at = 2; at + 1 + length <= p.length; at += 1 + length) {
            const servo = this.servos.find((s) => s.id === p[at]);
            servo?.write(address, p.subarray(at + 1, at + 1 + length));
          }
          return [];
        }
        case Instruction.SYNC_READ: {
          if (p.length < 2) return [];
          const [address, length] = [p[0]!, p[1]!];
          const replies: Uint8Array[] = [];
          for (const id of p.subarray(2)) {
            const servo = this.servos.find((s) => s.id === id);
            if (servo !== undefined) replies.push(this.status(servo, servo.read(address, length)));
          }
          return replies;
        }
        default:
          return [];
      }
    }
    const servo = this.servos.find((s) => s.id === frame.id);
    if (servo === undefined) return [];
    const answersAll = servo.get("Response_Status_Level") >= 1;
    switch (frame.code) {
      case Instruction.PING:
        return [this.status(servo)];
      case Instruction.READ:
        return p.length >= 2 ? [this.status(servo, servo.read(p[0]!, p[1]!))] : [];
      case Instruction.WRITE:
        if (p.length < 1) return [];
        servo.write(p[0]!, p.subarray(1));
        // An id change answers from the new id, as the servo does.
        return answersAll ? [this.status(servo)] : [];
      case Instruction.REG_WRITE:
        if (p.length < 1) return [];
        servo.regWrite(p[0]!, p.slice(1));
        return answersAll ? [this.status(servo)] : [];
      case Instruction.ACTION:
        servo.action();
        return answersAll ? [this.status(servo)] : [];
      default:
        return [];
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
