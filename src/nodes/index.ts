/**
 * Every node of the package, by its default name. `pi0fast node <name>`, `pi0fast run`, the `bin/`
 * executables and the launch files all start nodes from here. Each node arrives with its issue.
 */
import type { NodeDefinition } from "../ros/graph.js";
import { chunkBlenderNode } from "./chunk_blender.js";
import { observationAggregatorNode } from "./observation_aggregator.js";
import { policyNode } from "./policy.js";
import { so100ControllerNode } from "./so100_controller.js";

export const NODES: Readonly<Record<string, NodeDefinition>> = {
  observation_aggregator: observationAggregatorNode,
  policy: policyNode,
  chunk_blender: chunkBlenderNode,
  so100_controller: so100ControllerNode,
};

export function nodeNames(): string[] {
  return Object.keys(NODES).sort();
}
