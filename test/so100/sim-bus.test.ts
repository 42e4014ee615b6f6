import { describe, expect, it } from "vitest";
import { BusError, FeetechBus, MemoryTransport } from "../../src/so100/bus.js";
import { REGISTERS, STS3215_MODEL_NUMBER, encodeRegister } from "../../src/so100/control-table.js";
import { BROADCAST_ID, FrameParser, Instruction, StatusError, instructionPacket, type Frame } from "../../src/so100/protocol.js";
import { SIM_CALIBRATION, SIM_FIRMWARE, SimulatedArm } from "../../src/so100/sim-arm.js";

/** A clock the test moves. */
function manualClock() {
  let now = 0n;
  return { nowNs: () => now, advanceMs: (ms: number) => void (now += BigInt(Math.round(ms * 1e6))) };
}

function setup(options: { calibrated?: boolean; retries?: number } = {}) {
  const clock = manualClock();
  const arm = new SimulatedArm({ nowNs: clock.nowNs, ...(options.calibrated !== undefined ? { calibrated: options.calibrated } : {}) });
  const transport = new MemoryTransport(arm);
  const bus = new FeetechBus(transport, { timeoutMs: 15, retries: options.retries ?? 2 });
  return { clock, arm, transport, bus };
}

const IDS = [1, 2, 3, 4, 5, 6];

function frames(bytes: Uint8Array): Frame[] {
  const parser = new FrameParser();
  parser.push(bytes);
  const out: Frame[] = [];
  for (let r = parser.next(); r !== undefined; r = parser.next()) if (r.kind === "frame") out.push(r);
  return out;
}

describe("simulated STS3215 arm through the bus", () => {
  it("is found by a scan: six servos, model 777, one firmware version", async () => {
    const { bus } = setup();
    const found = await bus.scan([0, ...IDS, 7, 8]);
    expect(found.map((s) => [s.id, s.modelNumber, s.firmware])).toEqual(IDS.map((id) => [id, STS3215_MODEL_NUMBER, `${SIM_FIRMWARE.major}.${SIM_FIRMWARE.minor}`]));
    expect(bus.counters.timeouts).toBe(3);
  });

  it("answers a broadcast PING from every servo in id order and nothing to a broadcast WRITE", () => {
    const { arm } = setup();
    expect(frames(arm.receive(instructionPacket(BROADCAST_ID, Instruction.PING))).map((f) => f.id)).toEqual(IDS);
    expect(arm.receive(instructionPacket(BROADCAST_ID, Instruction.WRITE, [REGISTERS.Acceleration.address, 10])).length).toBe(0);
    expect(arm.servo(3).get("Acceleration")).toBe(10);
  });

  it("reports Present = Actual − Homing_Offset, and the calibration it was given", async () => {
    const { arm, bus } = setup();
    const motor = SIM_CALIBRATION.elbow_flex!;
    expect(await bus.read(3, "Homing_Offset")).toBe(motor.homing_offset);
    expect(await bus.read(3, "Min_Position_Limit")).toBe(motor.range_min);
    const present = await bus.read(3, "Present_Position");
    expect(present).toBe(Math.round((motor.range_min + motor.range_max) / 2));
    await bus.write(3, "Lock", 0);
    await bus.write(3, "Homing_Offset", motor.homing_offset - 100);
    expect(await bus.read(3, "Present_Position")).toBe(present + 100);
    expect(arm.servo(3).actualTicks).toBeCloseTo((present + motor.homing_offset + 4096) % 4096, 6);
  });

  it("ignores writes to read-only registers", async () => {
    const { bus } = setup();
    await bus.writeBytes(2, REGISTERS.Model_Number.address, encodeRegister(REGISTERS.Model_Number, 1234));
    await bus.writeBytes(2, REGISTERS.Present_Position.address, [0, 0]);
    expect(await bus.read(2, "Model_Number")).toBe(STS3215_MODEL_NUMBER);
    expect(await bus.read(2, "Present_Position")).not.toBe(0);
  });

  it("keeps EEPROM written while locked only until a power cycle; unlocked writes persist", async () => {
    const { arm, bus } = setup();
    expect(await bus.read(1, "Lock")).toBe(1);
    await bus.write(1, "Return_Delay_Time", 7);
    await bus.write(2, "Lock", 0);
    await bus.write(2, "Return_Delay_Time", 9);
    expect(await bus.read(1, "Return_Delay_Time")).toBe(7);
    arm.powerCycle();
    expect(await bus.read(1, "Return_Delay_Time")).toBe(250);
    expect(await bus.read(2, "Return_Delay_Time")).toBe(9);
    expect(await bus.read(2, "Lock")).toBe(1);
    expect(await bus.read(2, "Torque_Enable")).toBe(0);
  });

  it("clamps a goal to the position limits and moves there at most at Goal_Velocity, only with torque on", async () => {
    const { arm, bus, clock } = setup();
    const motor = SIM_CALIBRATION.shoulder_pan!;
    await bus.write(1, "Goal_Velocity", 800);
    await bus.write(1, "Goal_Position", 4000);
    expect(await bus.read(1, "Goal_Position")).toBe(motor.range_max);
    clock.advanceMs(200);
    const start = await bus.read(1, "Present_Position");
    expect(start).toBe(Math.round((motor.range_min + motor.range_max) / 2)); // torque off: no motion
    await bus.write(1, "Torque_Enable", 1);
    let previous = start;
    let sawMoving = false;
    for (let i = 0; i < 300; i++) {
      clock.advanceMs(10);
      const block = await bus.syncReadSpan("Present_Position", "Present_Velocity", [1]);
      const position = block.get(1)!.get("Present_Position");
      expect(position - previous).toBeLessThanOrEqual(8 + 1); // 800 ticks/s over 10 ms, rounding
      if ((await bus.read(1, "Moving")) === 1) sawMoving = true;
      previous = position;
    }
    expect(sawMoving).toBe(true);
    expect(previous).toBe(motor.range_max);
    expect(await bus.read(1, "Present_Load")).toBe(0);
  });

  it("moves every servo from one SYNC_WRITE and reports them in one SYNC_READ", async () => {
    const { bus, clock } = setup();
    for (const id of IDS) await bus.write(id, "Torque_Enable", 1);
    const goals = IDS.map((id) => [id, 2000 + id * 10] as const);
    await bus.syncWrite("Goal_Position", goals);
    clock.advanceMs(2000);
    const present = await bus.syncRead("Present_Position", IDS);
    for (const [id, goal] of goals) {
      const motor = Object.values(SIM_CALIBRATION).find((m) => m.id === id)!;
      expect(present.get(id)).toBe(Math.min(motor.range_max, Math.max(motor.range_min, goal)));
    }
    const telemetry = await bus.syncReadSpan("Present_Load", "Moving", IDS);
    expect(telemetry.get(1)!.get("Present_Voltage")).toBeGreaterThan(100);
    expect(telemetry.get(1)!.get("Present_Temperature")).toBeGreaterThanOrEqual(28);
  });

  it("retries a corrupt or missing status packet, counting each, and takes the good one", async () => {
    const { arm, bus } = setup();
    arm.faults.corruptReplies = 1;
    const positions = await bus.syncRead("Present_Position", IDS);
    expect(positions.size).toBe(6);
    expect(bus.counters.corruptPackets).toBe(1);
    expect(bus.counters.retries).toBe(1);
    arm.faults.dropReplies = 1;
    expect(await bus.read(4, "Model_Number")).toBe(STS3215_MODEL_NUMBER);
    expect(bus.counters.timeouts).toBe(1);
    expect(bus.servo(4).retries).toBe(1);
    arm.faults.noiseBeforeReply = Uint8Array.of(0x00, 0x13, 0x37);
    expect(await bus.read(5, "ID")).toBe(5);
    expect(bus.counters.noiseBytes).toBeGreaterThanOrEqual(3);
  });

  it("fails after its retries with what went wrong, never with a value", async () => {
    const { arm, bus } = setup({ retries: 2 });
    arm.faults.corruptReplies = 3;
    const error = await bus.read(1, "Present_Position").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BusError);
    expect((error as BusError).kind).toBe("corrupt");
    expect((error as BusError).message).toMatch(/found checksum .* \(after 3 attempts\)/);
    expect(bus.counters.failures).toBe(1);
  });

  it("treats a status packet with error bits as a failed read: retried, counted, reported, not a position", async () => {
    const { arm, bus } = setup();
    arm.servo(2).errorBits = StatusError.OVERLOAD;
    const error = await bus.syncRead("Present_Position", IDS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BusError);
    expect((error as BusError).kind).toBe("servo_error");
    expect((error as BusError).servoId).toBe(2);
    expect((error as BusError).message).toMatch(/servo 2 reports overload/);
    expect(bus.counters.servoErrors).toBe(3);
    expect(bus.servo(2).errors).toBe(3);
    arm.servo(2).errorBits = 0;
    expect((await bus.syncRead("Present_Position", IDS)).size).toBe(6);
  });

  it("fails every transaction at once when the port is gone", async () => {
    const { transport, bus } = setup();
    transport.disconnect("unplugged");
    await expect(bus.read(1, "ID")).rejects.toMatchObject({ kind: "port_closed" });
    expect(bus.closed).toBe("unplugged");
  });
});
