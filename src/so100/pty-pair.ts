/**
 * A virtual serial cable: a `socat` pty pair, as a USB serial adapter stands in for. The simulated arm serves
 * one end (`serveSimulatedArm`), a bus client opens the other. The demo runs the controller through it; the
 * tests use it to unplug the arm.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface PtyPair {
  /** The end the simulated arm serves. */
  readonly armEnd: string;
  /** The end a bus client opens. */
  readonly clientEnd: string;
  /** Kills socat: both devices vanish, as an unplugged adapter does. Resolves once it has exited. */
  kill(): Promise<void>;
}

/** Starts `socat -d -d pty,raw,echo=0,link=<dir>/<name>-arm pty,raw,echo=0,link=<dir>/<name>-client`. */
export async function startPtyPair(dir: string, name = "bus"): Promise<PtyPair> {
  const armEnd = path.join(dir, `${name}-arm`);
  const clientEnd = path.join(dir, `${name}-client`);
  const socat: ChildProcess = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${armEnd}`, `pty,raw,echo=0,link=${clientEnd}`], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  socat.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  socat.once("error", (error) => (log += String(error)));
  const exited = new Promise<void>((resolve) => socat.once("close", () => resolve()));
  for (let i = 0; i < 200 && socat.exitCode === null && !(existsSync(armEnd) && existsSync(clientEnd) && /starting data transfer loop/.test(log)); i++) await sleep(10);
  if (!existsSync(armEnd) || !existsSync(clientEnd)) {
    socat.kill("SIGKILL");
    throw new Error(`socat did not create the pty pair ${armEnd} / ${clientEnd}: ${log.trim() || "no output"}`);
  }
  return {
    armEnd,
    clientEnd,
    kill: async () => {
      if (socat.exitCode === null && socat.signalCode === null) socat.kill("SIGKILL");
      await exited;
    },
  };
}
