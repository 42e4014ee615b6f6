/**
 * SIGINT and SIGTERM for the commands that run nodes until stopped. Listened for from the process's first
 * moment (bin.ts), so that a Ctrl-C at any point of start-up reaches the host, which stops what has started and
 * exits 0, instead of Node's default (the process killed mid-write) or rclnodejs's own handler (rcl shut down
 * under a node still loading its model). A second signal exits at once: the way out of a stop that hangs.
 * No other imports: bin.ts loads this before the rest of the program.
 */
let received: NodeJS.Signals | undefined;
let listening = false;
const waiters: Array<(signal: NodeJS.Signals) => void> = [];

function onSignal(signal: NodeJS.Signals): void {
  if (received !== undefined) {
    process.stderr.write(`pi0fast: second ${signal}: exiting without waiting for the nodes to stop\n`);
    process.exit(signal === "SIGINT" ? 130 : 143);
  }
  received = signal;
  for (const resolve of waiters.splice(0)) resolve(signal);
}

/** Starts listening (idempotent). */
export function listenForShutdownSignals(): void {
  if (listening) return;
  listening = true;
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

/** Resolves with the first SIGINT/SIGTERM, at once if one already arrived. */
export function shutdownRequested(): Promise<NodeJS.Signals> {
  listenForShutdownSignals();
  return received !== undefined ? Promise.resolve(received) : new Promise((resolve) => waiters.push(resolve));
}

/** The signal that asked for the stop, if one has arrived. */
export function shutdownSignalReceived(): NodeJS.Signals | undefined {
  return received;
}
