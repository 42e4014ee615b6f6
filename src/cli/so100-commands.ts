/**
 * `pi0fast so100 scan | read | sim`: the servo bus from the command line, on real hardware and on the
 * simulated arm alike (the simulated arm served on one end of a pty pair, these commands on the other).
 */
import type { Argv, CommandModule } from "yargs";
import type { CommandBody } from "./command-body.js";
import { InputError } from "../errors.js";
import { shutdownRequested } from "../nodes/shutdown-signals.js";
import { armJoints } from "../so100/arm.js";
import { BusError, FeetechBus, openSerialTransport } from "../so100/bus.js";
import type { Calibration } from "../so100/calibration.js";
import { readCalibrationFile } from "../so100/calibration-file.js";
import { REGISTERS, STS3215_MODEL_NUMBER, decodeFromBlock, type RegisterName } from "../so100/control-table.js";
import { MAX_ID, describeStatusError } from "../so100/protocol.js";
import { SIM_CALIBRATION, SimulatedArm } from "../so100/sim-arm.js";
import { serveSimulatedArm } from "../so100/sim-serial.js";
import { RAD_PER_TICK } from "../so100/limits.js";
import { ticksToRadians } from "../so100/units.js";

interface PortArgs {
  port: string;
  baudrate: number;
  "timeout-ms": number;
}

function portOptions<T>(yargs: Argv<T>) {
  return yargs
    .option("port", { type: "string", demandOption: true, describe: "Serial device of the servo bus (/dev/ttyACM0, or one end of a pty pair)" })
    .option("baudrate", { type: "number", default: 1_000_000, describe: "Bus baud rate (STS3215: 1000000)" })
    .option("timeout-ms", { type: "number", default: 20, describe: "Time a servo has to answer" });
}

function checkPortArgs(args: PortArgs): void {
  if (!Number.isInteger(args.baudrate) || args.baudrate <= 0) throw new InputError(`--baudrate ${args.baudrate}: expected a positive whole number of baud`);
  if (!(args["timeout-ms"] > 0)) throw new InputError(`--timeout-ms ${args["timeout-ms"]}: expected a positive number of milliseconds`);
}

/** `1-6`, `1,3,5` or `0-252` → ids. */
export function parseIds(text: string): number[] {
  const ids = new Set<number>();
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    const first = match ? Number(match[1]) : NaN;
    const last = match?.[2] !== undefined ? Number(match[2]) : first;
    if (!match || first > last || last > MAX_ID) throw new InputError(`--ids ${text}: '${part}' is not an id or range of ids in 0..${MAX_ID} (e.g. 1-6 or 1,3,5)`);
    for (let id = first; id <= last; id++) ids.add(id);
  }
  if (ids.size === 0) throw new InputError(`--ids ${text}: names no id`);
  return [...ids].sort((a, b) => a - b);
}

async function openBus(args: PortArgs): Promise<FeetechBus> {
  checkPortArgs(args);
  return new FeetechBus(await openSerialTransport(args.port, args.baudrate), { timeoutMs: args["timeout-ms"] });
}

interface ScanArgs extends PortArgs {
  ids: string;
  json: boolean;
}

const scanCommand: CommandModule<object, ScanArgs> = {
  command: "scan",
  describe: "Ping servo ids and report model number and firmware of those that answer",
  builder: (yargs) =>
    portOptions(yargs)
      .option("ids", { type: "string", default: "1-20", describe: `Ids to ping (ranges and lists, within 0..${MAX_ID})` })
      .option("json", { type: "boolean", default: false, describe: "Print one JSON object" }) as unknown as Argv<ScanArgs>,
  handler: async (args) => {
    const ids = parseIds(args.ids);
    const bus = await openBus(args);
    try {
      const found = await bus.scan(ids);
      const servos = found.map((s) => ({ id: s.id, model_number: s.modelNumber, model: s.modelNumber === STS3215_MODEL_NUMBER ? "STS3215" : "unknown", firmware: s.firmware, errors: describeStatusError(s.errorBits) }));
      if (args.json) console.log(JSON.stringify({ port: args.port, baudrate: args.baudrate, ids_pinged: ids.length, servos }, null, 2));
      else if (servos.length === 0) console.log(`no servo answered on ${args.port} at ${args.baudrate} baud (ids ${args.ids})`);
      else {
        console.log(`${servos.length} servo(s) on ${args.port} at ${args.baudrate} baud:`);
        console.log("  id  model          firmware  errors");
        for (const s of servos) console.log(`  ${String(s.id).padStart(2)}  ${`${s.model} (${s.model_number})`.padEnd(14)} ${s.firmware.padEnd(9)} ${s.errors.join(", ") || "none"}`);
      }
      if (servos.length === 0) process.exitCode = 1;
    } finally {
      await bus.close();
    }
  },
};

interface ReadArgs extends PortArgs {
  ids?: string;
  calibration?: string;
  json: boolean;
}

interface ServoReading {
  id: number;
  joint: string | null;
  position_ticks: number | null;
  position_rad: number | null;
  velocity_rad_s: number | null;
  load_permille: number | null;
  voltage_v: number | null;
  temperature_c: number | null;
  torque: boolean | null;
  moving: boolean | null;
  errors: string[];
  error: string | null;
}

const readCommand: CommandModule<object, ReadArgs> = {
  command: "read",
  describe: "Read each servo's position (ticks, and radians with a calibration), velocity, load, voltage, temperature, torque and errors",
  builder: (yargs) =>
    portOptions(yargs)
      .option("calibration", { type: "string", describe: "LeRobot calibration JSON: joints by name and positions in radians" })
      .option("ids", { type: "string", describe: "Ids to read (default: the calibration's, else 1-6)" })
      .option("json", { type: "boolean", default: false, describe: "Print one JSON object" }) as unknown as Argv<ReadArgs>,
  handler: async (args) => {
    const calibration: Calibration | undefined = args.calibration !== undefined ? readCalibrationFile(args.calibration, "--calibration") : undefined;
    const joints = calibration !== undefined ? armJoints(Object.keys(calibration), calibration, args.calibration!) : [];
    const ids = args.ids !== undefined ? parseIds(args.ids) : joints.length > 0 ? joints.map((j) => j.id).sort((a, b) => a - b) : [1, 2, 3, 4, 5, 6];
    const bus = await openBus(args);
    const readings: ServoReading[] = [];
    try {
      for (const id of ids) {
        const joint = joints.find((j) => j.id === id);
        const reading: ServoReading = { id, joint: joint?.name ?? null, position_ticks: null, position_rad: null, velocity_rad_s: null, load_permille: null, voltage_v: null, temperature_c: null, torque: null, moving: null, errors: [], error: null };
        try {
          // Torque_Enable .. Moving in one READ.
          const start = REGISTERS.Torque_Enable.address;
          const block = await bus.readBytes(id, start, REGISTERS.Moving.address + 1 - start);
          const value = (name: RegisterName) => decodeFromBlock(REGISTERS[name], block, start);
          reading.position_ticks = value("Present_Position");
          reading.position_rad = joint !== undefined ? ticksToRadians(reading.position_ticks, joint.calibration) : null;
          reading.velocity_rad_s = value("Present_Velocity") * RAD_PER_TICK;
          reading.load_permille = value("Present_Load");
          reading.voltage_v = value("Present_Voltage") / 10;
          reading.temperature_c = value("Present_Temperature");
          reading.torque = value("Torque_Enable") === 1;
          reading.moving = value("Moving") !== 0;
        } catch (error) {
          if (!(error instanceof BusError) || error.kind === "port_closed") throw error;
          reading.error = error.message;
          if (error.errorBits !== undefined) reading.errors = describeStatusError(error.errorBits);
        }
        readings.push(reading);
      }
    } finally {
      await bus.close();
    }
    if (args.json) {
      console.log(JSON.stringify({ port: args.port, calibration: args.calibration ?? null, servos: readings }, null, 2));
    } else {
      console.log("  id  joint          ticks  rad      rad/s   load‰  V     °C  torque  errors");
      for (const r of readings) {
        if (r.error !== null) {
          console.log(`  ${String(r.id).padStart(2)}  ${(r.joint ?? "-").padEnd(13)}  ${r.error}`);
          continue;
        }
        const rad = r.position_rad === null ? "-" : r.position_rad.toFixed(3);
        console.log(
          `  ${String(r.id).padStart(2)}  ${(r.joint ?? "-").padEnd(13)}  ${String(r.position_ticks).padStart(5)}  ${rad.padStart(7)}  ${r.velocity_rad_s!.toFixed(2).padStart(6)}  ${String(r.load_permille).padStart(5)}  ${r.voltage_v!.toFixed(1)}  ${String(r.temperature_c).padStart(3)}  ${r.torque ? "on " : "off"}     ${r.errors.join(", ") || "none"}`,
        );
      }
      if (calibration === undefined) console.log("(radians need --calibration: zero is the middle of the calibrated range)");
    }
    if (readings.some((r) => r.error !== null)) process.exitCode = 1;
  },
};

interface SimArgs {
  port: string;
  baudrate: number;
  calibration?: string;
  uncalibrated: boolean;
}

const simCommand: CommandModule<object, SimArgs> = {
  command: "sim",
  describe: "Serve the simulated arm (six STS3215, the real protocol) on a serial device, e.g. one end of a socat pty pair",
  builder: (yargs) =>
    yargs
      .option("port", { type: "string", demandOption: true, describe: "Serial device to serve on (socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B: serve on A, connect to B)" })
      .option("baudrate", { type: "number", default: 1_000_000 })
      .option("calibration", { type: "string", describe: "LeRobot calibration JSON the servos hold (default: a built-in SO-101 calibration)" })
      .option("uncalibrated", { type: "boolean", default: false, describe: "Factory settings instead (homing offset 0, limits 0..4095), to run a calibration against" }) as unknown as Argv<SimArgs>,
  handler: async (args) => {
    if (!Number.isInteger(args.baudrate) || args.baudrate <= 0) throw new InputError(`--baudrate ${args.baudrate}: expected a positive whole number of baud`);
    const calibration = args.calibration !== undefined ? readCalibrationFile(args.calibration, "--calibration") : SIM_CALIBRATION;
    const arm = new SimulatedArm({ calibration, calibrated: !args.uncalibrated, nowNs: () => process.hrtime.bigint() });
    const stopRequested = shutdownRequested();
    const served = await serveSimulatedArm(args.port, arm, args.baudrate);
    process.stderr.write(
      `pi0fast: simulated arm on ${args.port} at ${args.baudrate} baud: ${arm.servos.length} × STS3215 (ids ${arm.servos.map((s) => s.id).join(", ")}), ${args.uncalibrated ? "factory settings" : `calibration ${args.calibration ?? "built in"}`}; Ctrl-C stops it\n`,
    );
    const outcome = await Promise.race([stopRequested.then((signal) => `stopped (${signal})`), served.closed.then((reason) => `port closed (${reason})`)]);
    await served.close();
    process.stderr.write(`pi0fast: simulated arm ${outcome}\n`);
  },
};

export const so100Command: CommandBody<object, object> = {
  builder: (yargs: Argv) => yargs.command(scanCommand).command(readCommand).command(simCommand).demandCommand(1, "Name an so100 command: scan, read or sim"),
  handler: () => {},
};
