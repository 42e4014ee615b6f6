/**
 * The latency injector of the replay evaluation: a delay line between a policy and the chunk blender. On a
 * simulated clock a policy answers within the same instant, so each chunk is held back here for the injected
 * latency (or the inference latency the chunk itself reports, the policy's measured one) and then passed on.
 * `delay_compensation: false` is the naive baseline: the chunk is restamped with its arrival time, so the
 * blender executes it from step 0 on arrival as a stack that ignores latency would.
 */
import { z } from "zod";
import { makeHeader, type Pi0fastRosActionChunk } from "../msgs/messages.js";
import { defineNode, type Timer } from "../ros/graph.js";

export const latencyInjectorParameters = z.object({
  latency_ms: z.number().min(0).max(60_000).default(0).describe("Time each chunk is held back, milliseconds of the node clock"),
  measured_latency: z.boolean().default(false).describe("Hold each chunk for the inference latency it reports instead (a real model's measured latency)"),
  delay_compensation: z.boolean().default(true).describe("false: stamp chunks with their arrival time (the naive 'execute from step 0 on arrival' baseline)"),
  input_topic: z.string().default("action_chunk_undelayed").describe("Chunks from the policy"),
  output_topic: z.string().default("action_chunk").describe("Chunks to the blender"),
});

export type LatencyInjectorParameters = z.infer<typeof latencyInjectorParameters>;

export const latencyInjectorNode = defineNode({
  name: "latency_injector",
  description: "Replay evaluation: holds each action chunk back for the injected or measured latency",
  parameters: latencyInjectorParameters,
  create(graph, parameters) {
    const publisher = graph.createPublisher("pi0fast_ros/msg/ActionChunk", parameters.output_topic, "reliable");
    const held = new Set<Timer>();
    const release = (chunk: Pi0fastRosActionChunk, latencyMs: number): void => {
      const out = parameters.delay_compensation ? chunk : { ...chunk, header: makeHeader(graph.nowNs(), chunk.header.frame_id) };
      publisher.publish({ ...out, inference_latency_ms: latencyMs });
    };
    const subscription = graph.createSubscription("pi0fast_ros/msg/ActionChunk", parameters.input_topic, { profile: "reliable", depth: 100 }, (chunk) => {
      const latencyMs = parameters.measured_latency ? chunk.inference_latency_ms : parameters.latency_ms;
      const delayNs = BigInt(Math.round(latencyMs * 1e6));
      if (delayNs <= 0n) {
        release(chunk, latencyMs);
        return;
      }
      // one-shot: the timer fires once, `delayNs` after now, and is cancelled there
      const timer = graph.createTimer(delayNs, () => {
        timer.cancel();
        held.delete(timer);
        release(chunk, latencyMs);
      });
      held.add(timer);
    });
    return {
      shutdown: () => {
        subscription.destroy();
        for (const timer of held) timer.cancel();
        held.clear();
      },
    };
  },
});
