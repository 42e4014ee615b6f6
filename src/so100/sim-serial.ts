/**
 * Serves the simulated arm on a serial device (one end of a `socat` pty pair, or a real UART), so any
 * Feetech client — this package's bus, LeRobot's FeetechMotorsBus, Feetech's SDK — talks to it as to a
 * real arm. The arm's motion follows the wall clock.
 */
import type { SimulatedArm } from "./sim-arm.js";
import { openSerialTransport } from "./bus.js";

export interface ServedArm {
  readonly port: string;
  /** Resolves with the reason when the device goes away (the pty pair was closed). */
  readonly closed: Promise<string>;
  close(): Promise<void>;
}

export async function serveSimulatedArm(port: string, arm: SimulatedArm, baudRate = 1_000_000): Promise<ServedArm> {
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
