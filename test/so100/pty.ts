/** A socat pty pair, as a USB serial adapter stands in for: the simulated arm serves one end, a client opens the other. */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

export interface PtyPair {
  /** The end the simulated arm serves. */
  readonly armEnd: string;
  /** The end a bus client opens. */
  readonly clientEnd: string;
  /** Kills socat: both devices vanish, as an unplugged adapter does. */
  kill(): Promise<void>;
}

export async function startPtyPair(dir: string, name = "bus"): Promise<PtyPair> {
  const armEnd = path.join(dir, `${name}-arm`);
  const clientEnd = path.join(dir, `${name}-client`);
  const socat: ChildProcess = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${armEnd}`, `pty,raw,echo=0,link=${clientEnd}`], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  socat.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => socat.once("exit", () => resolve()));
  for (let i = 0; i < 200 && !(existsSync(armEnd) && existsSync(clientEnd) && /starting data transfer loop/.test(log)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (!existsSync(armEnd) || !existsSync(clientEnd)) {
    socat.kill("SIGKILL");
    throw new Error(`socat did not create the pty pair ${armEnd} / ${clientEnd}: ${log}`);
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
