/**
 * The recorded oracle (`pi0fast eval --policy recorded`): a policy that answers each `replan_request` with the
 * bag's recorded future actions from the freshest observation's stamp — step i is the recorded action at
 * stamp + i·dt, interpolated. It answers at once; the latency injector delays it. What the blending and
 * control stack alone cost, measurable without a model or a GPU.
 */
import { z } from "zod";
import { Pi0fastRosActionChunkConstants as Decode, makeHeader, nsFromTime, type Pi0fastRosObservation } from "../msgs/messages.js";
import { defineNode, type NodeDefinition } from "../ros/graph.js";
import type { JointTrajectory } from "./trajectory.js";

export const recordedPolicyParameters = z.object({
  horizon: z.number().int().min(2).max(1000).default(50).describe("Steps per chunk"),
  dt_s: z.number().positive().max(1).default(1 / 30).describe("Time between steps, seconds (the model's; 1/30 s for a 30 fps dataset)"),
  chunk_topic: z.string().default("action_chunk").describe("Where chunks are published (the latency injector's input under pi0fast eval)"),
});

export type RecordedPolicyParameters = z.infer<typeof recordedPolicyParameters>;

/** Row-major `[horizon, joints]`: the recorded action at stamp + i·dt for each step i. */
export function recordedChunk(trajectory: JointTrajectory, stampNs: bigint, horizon: number, dtS: number): Float64Array {
  const dims = trajectory.jointNames.length;
  const chunk = new Float64Array(horizon * dims);
  const startS = Number(stampNs - trajectory.startNs) / 1e9;
  for (let step = 0; step < horizon; step++) trajectory.atSeconds(startS + step * dtS, chunk.subarray(step * dims, (step + 1) * dims));
  return chunk;
}

/** The oracle node for one recorded action trajectory. */
export function recordedPolicyNode(trajectory: JointTrajectory): NodeDefinition<typeof recordedPolicyParameters> {
  return defineNode({
    name: "recorded_policy",
    description: "Recorded oracle: answers replan requests with the recorded future actions",
    parameters: recordedPolicyParameters,
    create(graph, parameters) {
      const publisher = graph.createPublisher("pi0fast_ros/msg/ActionChunk", parameters.chunk_topic, "reliable");
      let latest: Pi0fastRosObservation | undefined;
      let pending = false;
      let chunkId = 0;
      const answer = (): void => {
        if (!pending || latest === undefined) return;
        pending = false;
        const stampNs = nsFromTime(latest.header.stamp);
        chunkId++;
        publisher.publish({
          header: makeHeader(stampNs, latest.header.frame_id),
          chunk_id: chunkId,
          dt_s: parameters.dt_s,
          horizon: parameters.horizon,
          action_names: [...trajectory.jointNames],
          actions_rad: recordedChunk(trajectory, stampNs, parameters.horizon, parameters.dt_s),
          inference_latency_ms: 0,
          token_count: 0,
          decode_status: Decode.DECODE_OK,
          decode_detail: "recorded",
        });
      };
      const subscriptions = [
        graph.createSubscription("pi0fast_ros/msg/Observation", "observation", { profile: "reliable", depth: 1 }, (message) => {
          latest = message;
          answer();
        }),
        graph.createSubscription("pi0fast_ros/msg/ReplanRequest", "replan_request", "reliable", () => {
          pending = true;
          answer();
        }),
      ];
      return { shutdown: () => subscriptions.forEach((subscription) => subscription.destroy()) };
    },
  });
}
