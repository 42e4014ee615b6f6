/** A test node that blocks its thread per message, as the policy's session.run() does. */
import { z } from "zod";
import { defineNode } from "../../../src/ros/graph.js";

export const blockingEcho = defineNode({
  name: "blocking_echo",
  description: "Echoes /in to /out after blocking its thread for block_ms.",
  parameters: z.object({ block_ms: z.number().min(0).default(100), prefix: z.string().default("echo:") }),
  blocking: true,
  create(graph, parameters) {
    const publisher = graph.createPublisher("std_msgs/msg/String", "/out", "reliable");
    graph.createSubscription("std_msgs/msg/String", "/in", { profile: "reliable", depth: 1 }, (message) => {
      const until = Date.now() + parameters.block_ms;
      while (Date.now() < until) {
        // busy: nothing else runs on this thread
      }
      publisher.publish({ data: `${parameters.prefix}${message.data}` });
    });
    return { shutdown: () => publisher.publish({ data: "stopped" }) };
  },
});

export const failing = defineNode({
  name: "failing",
  description: "Fails in create.",
  parameters: z.object({}),
  create() {
    throw new Error("model directory /nope has no pi0fast.json");
  },
});
