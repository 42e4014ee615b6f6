/**
 * Starting and stopping the package's nodes on a graph: one node on ROS (`ros2 run`, `ros2 launch`), one
 * or all of them on a LocalGraph (`pi0fast node --graph local`, `pi0fast run`). Blocking nodes go to a
 * worker thread on a real-clock LocalGraph.
 *
 * A stop asked for while nodes are still starting (Ctrl-C during a model load) ends the start: what has started
 * is stopped, what is still starting is abandoned on an inert graph, and the command returns (exit 0).
 */
import { readFileSync } from "node:fs";
import { InputError } from "../errors.js";
import type { Graph, NodeDefinition, NodeHandle } from "../ros/graph.js";
import { LocalBus, type LogLevel } from "../ros/local-graph.js";
import { startWorkerNode } from "../ros/local-worker.js";
import { absoluteNamespace } from "../ros/names.js";
import { parseParamsFile, type ParamsFileEntry } from "../ros/parameters.js";
import { createRosGraph, loadRclnodejs, type RosGraph } from "../ros/ros-graph.js";
import { NODES, nodeNames } from "./index.js";
import { shutdownRequested, shutdownSignalReceived } from "./shutdown-signals.js";

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

const STOPPED: unique symbol = Symbol("stopped");

/** Waits for `starting` unless the stop comes first (then STOPPED); a failed start still throws. */
async function unlessStopped<T>(starting: Promise<T>, stopRequested: Promise<unknown> | undefined): Promise<T | typeof STOPPED> {
  if (stopRequested === undefined) return starting;
  return Promise.race([starting, stopRequested.then((): typeof STOPPED => STOPPED)]);
}

/** When a start is abandoned: a node that still comes up later is stopped then, and a late failure is moot. */
function stopWhenStarted(starting: Promise<NodeHandle>): void {
  starting.then((handle) => handle.shutdown()).catch(() => {});
}

export interface LocalRun {
  readonly bus: LocalBus;
  readonly nodes: string[];
  stop(): Promise<void>;
}

export interface LocalStartOptions {
  params: readonly ParamsFileEntry[];
  /** Relative (`so100`) or absolute; every node's. */
  namespace?: string;
  logLevel?: LogLevel;
  /** A stop asked for while the nodes start ends the start (see the module comment). */
  stopRequested?: Promise<unknown>;
}

/**
 * Starts the named nodes on one real-clock LocalBus; blocking ones each in a worker thread. Resolves undefined
 * when the stop was asked for before every node had started (those that had are stopped by then).
 */
export async function startLocal(names: readonly string[], options: LocalStartOptions): Promise<LocalRun | undefined> {
  const definitions = names.map((name) => [name, findNode(name)] as const);
  const namespace = absoluteNamespace(options.namespace ?? "/");
  const bus = new LocalBus({ params: options.params, ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}) });
  const stops: Array<() => Promise<void> | void> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of [...stops].reverse()) await stop();
    bus.close();
  };
  let abandoned = false;
  try {
    for (const [name, definition] of definitions) {
      if (definition.blocking === true) {
        const registry = new URL(import.meta.url.endsWith(".ts") ? "./index.ts" : "./index.js", import.meta.url).href;
        const worker = startWorkerNode(bus, { moduleUrl: registry, exportPath: ["NODES", name] }, name, { namespace });
        stops.push(() => worker.shutdown());
        if ((await unlessStopped(worker.ready, options.stopRequested)) === STOPPED) {
          abandoned = true;
          break;
        }
      } else {
        const graph = bus.createGraph(name, { namespace });
        const starting = startNode(definition, graph);
        const handle = await unlessStopped(starting, options.stopRequested);
        if (handle === STOPPED) {
          graph.destroy();
          stopWhenStarted(starting);
          abandoned = true;
          break;
        }
        stops.push(async () => {
          await handle.shutdown();
          graph.destroy();
        });
      }
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  if (abandoned) {
    await stopAll();
    return undefined;
  }
  return { bus, nodes: [...names], stop: stopAll };
}

/**
 * Runs one node on ROS 2 until SIGINT/SIGTERM. `argv` is the process's, `--ros-args` included; `namespace` is
 * the default that `__ns:=` overrides. Whatever happens, rcl is shut down before it returns or throws.
 */
export async function runOnRos(name: string, argv: string[], options: { namespace?: string } = {}): Promise<void> {
  const definition = findNode(name);
  const stopRequested = shutdownRequested();
  const rclnodejs = await loadRclnodejs();
  // The signals are ours (see shutdown-signals.ts): rclnodejs's handler would shut rcl down under a loading node.
  rclnodejs.removeSignalHandlers();
  if (shutdownSignalReceived() !== undefined) return;
  let graph: RosGraph | undefined;
  try {
    graph = await createRosGraph(rclnodejs, { nodeName: name, argv, ...(options.namespace !== undefined ? { namespace: options.namespace } : {}) });
    if (shutdownSignalReceived() !== undefined) return;
    // Spinning from the start serves parameter services and /clock while a model loads.
    graph.spin();
    const starting = startNode(definition, graph);
    const handle = await unlessStopped(starting, stopRequested);
    if (handle === STOPPED) {
      stopWhenStarted(starting);
      return;
    }
    graph.logger.info(`${definition.name} running`);
    await stopRequested;
    await handle.shutdown();
  } finally {
    graph?.destroy();
    if (!rclnodejs.isShutdown()) rclnodejs.shutdown();
  }
}
