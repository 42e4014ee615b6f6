/** Entry point of a node's worker thread (see local-worker.ts). */
import { runWorkerNode } from "./local-worker.js";

await runWorkerNode();
