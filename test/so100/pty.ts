/** A socat pty pair, as a USB serial adapter stands in for: the simulated arm serves one end, a client opens the other. */
export { startPtyPair, type PtyPair } from "../../src/so100/pty-pair.js";
