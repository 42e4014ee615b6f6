/**
 * Starting and stopping the package's nodes on a graph: one node on ROS (`ros2 run`, `ros2 launch`), one
 * or all of them on a LocalGraph (`pi0fast node --graph local`, `pi0fast run`). Blocking nodes go to a
 * worker thread on a real-clock LocalGraph.
 */
import { readFileSync } from "node:fs";
import { InputError } from "../errors.js";
import type { Graph, NodeDefinition, NodeHandle } from "../ros/graph.js";
import { LocalBus, type LogLevel } from "../ros/local-graph.js";
import { startWorkerNode } from "../ros/local-worker.js";
import { parseParamsFile, type ParamsFileEntry } from "../ros/parameters.js";
import { createRosGraph, loadRclnodejs } from "../ros/ros-graph.js";
import { NODES, nodeNames } from "./index.js";

export function findNode(name: string): NodeDefinition {
  const definition = NODES[name];
  if (definition === undefined) {
    const known = nodeNames();
    throw new InputError(`the package has no node '${name}'; its nodes are: ${known.length > 0 ? known.join(", ") : "(none yet)"}`);
  }
  return definition;
}

/** Reads a params file, naming it when it is missing or malformed. */
export function readParamsFile(path: string): ParamsFileEntry[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`params file ${path}: ${code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? String(error)})`}`);
  }
  return parseParamsFile(text, path);
}

/**
 * The package nodes a params file names (sections `name`, `/ns/name`, `/**\/name`); wildcard-only
 * sections (`/**`) hold shared parameters. A section naming a node the package lacks is an error.
 */
export function nodesNamedIn(entries: readonly ParamsFileEntry[], fileName: string): string[] {
  const names: string[] = [];
  for (const entry of entries) {
    const last = entry.nodePattern.split("/").filter((token) => token.length > 0).pop() ?? "";
    if (last === "" || last.includes("*")) continue;
    if (NODES[last] === undefined) {
      const known = nodeNames();
      throw new InputError(`${fileName}: section '${entry.nodePattern}' names node '${last}', which the package lacks; its nodes are: ${known.length > 0 ? known.join(", ") : "(none yet)"}`);
    }
    if (!names.includes(last)) names.push(last);
  }
  return names;
}

/** Starts a node on a graph: declares its parameters (validated) and wires it. */
export async function startNode(definition: NodeDefinition, graph: Graph): Promise<NodeHandle> {
  const parameters = graph.declareParameters(definition.parameters);
  return definition.create(graph, parameters);
}

/** Resolves on the first SIGINT or SIGTERM, with the signal's name. */
export function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

export interface LocalRun {
  readonly bus: LocalBus;
  readonly nodes: string[];
  stop(): Promise<void>;
}

/** Starts the named nodes on one real-clock LocalBus; blocking ones each in a worker thread. */
export async function startLocal(names: readonly string[], options: { params: readonly ParamsFileEntry[]; namespace?: string; logLevel?: LogLevel }): Promise<LocalRun> {
  const definitions = names.map((name) => [name, findNode(name)] as const);
  const bus = new LocalBus({ params: options.params, ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}) });
  const stops: Array<() => Promise<void> | void> = [];
  const namespace = options.namespace ?? "/";
  try {
    for (const [name, definition] of definitions) {
      if (definition.blocking === true) {
        const registry = new URL(import.meta.url.endsWith(".ts") ? "./index.ts" : "./index.js", import.meta.url).href;
        const worker = startWorkerNode(bus, { moduleUrl: registry, exportPath: ["NODES", name] }, name, { namespace });
        stops.push(() => worker.shutdown());
        await worker.ready;
      } else {
        const graph = bus.createGraph(name, { namespace });
        const handle = await startNode(definition, graph);
        stops.push(async () => {
          await handle.shutdown();
          graph.destroy();
        });
      }
    }
  } catch (error) {
    for (const stop of stops.reverse()) await stop();
    bus.close();
    throw error;
  }
  return {
    bus,
    nodes: [...names],
    stop: async () => {
      for (const stop of stops.reverse()) await stop();
      bus.close();
    },
  };
}

/** Runs one node on ROS 2 until SIGINT/SIGTERM. `argv` is the process's, `--ros-args` included. */
export async function runOnRos(name: string, argv: string[]): Promise<void> {
  const definition = findNode(name);
  const rclnodejs = await loadRclnodejs();
  const graph = await createRosGraph(rclnodejs, { nodeName: name, argv });
  const stopRequested = shutdownSignal();
  const handle = await startNode(definition, graph);
  graph.spin();
  graph.logger.info(`${definition.name} running`);
  await stopRequested;
  await handle.shutdown();
  graph.destroy();
  rclnodejs.shutdown();
}
