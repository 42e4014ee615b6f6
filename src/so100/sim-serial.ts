/**
 * Serves the simulated arm on a serial device (one end of a `socat` pty pair, or a real UART), so any
 * Feetech client — this package's bus, LeRobot's FeetechMotorsBus, Feetech's SDK — talks to it as to a
 * real arm. The arm's motion follows the wall clock.
 */
import type { SimulatedArm } from "./sim-arm.js";
import { openSerialTransport } from "./bus.js";
import { REGISTERS } from "./control-table.js";
import { pingPacket, readPacket, syncReadPacket } from "./protocol.js";

export interface ServedArm {
  readonly port: string;
  /** Resolves with the reason when the device goes away (the pty pair was closed). */
  readonly closed: Promise<string>;
  close(): Promise<void>;
}

export async function serveSimulatedArm(port: string, arm: SimulatedArm, baudRate = 1_000_000): Promise<ServedArm> {
  // Answer once in memory first (state unchanged): a cold first reply can outlast a client's timeout
  // (LeRobot's handshake pings each servo once, with about 50 ms to answer).
  const ids = arm.servos.map((servo) => servo.id);
  for (let i = 0; i < 20; i++) {
    arm.receive(pingPacket(ids[0]!));
    arm.receive(readPacket(ids[0]!, REGISTERS.Model_Number.address, 2));
    arm.receive(syncReadPacket(REGISTERS.Present_Position.address, 2, ids));
  }
  const transport = await openSerialTransport(port, baudRate);
  const closed = new Promise<string>((resolve) => transport.onClose(resolve));
  transport.onData((bytes) => {
    const reply = arm.receive(bytes);
    try {
      if (reply.length > 0) transport.write(reply);
    } catch {
      // The device went away mid-reply; `closed` says so.
    }
  });
  return { port, closed, close: () => transport.close() };
}
