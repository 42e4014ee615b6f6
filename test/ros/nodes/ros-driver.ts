/**
 * A second ROS 2 process for the middleware test: publishes pi0fast_ros/Observation messages sized for
 * the model in $MODEL_DIR until an ActionChunk comes back, then prints what it saw as JSON and exits.
 * Runs on RosGraph, so the adapter itself is exercised on the real rcl/rmw.
 */
import { nsFromTime } from "../../../src/msgs/messages.js";
import { createRosGraph, loadRclnodejs } from "../../../src/ros/ros-graph.js";
import { greyObservationsForModel } from "./grey-observation.js";

const observationAt = greyObservationsForModel();

const rclnodejs = await loadRclnodejs();
const graph = await createRosGraph(rclnodejs, { nodeName: "driver", argv: process.argv });
const publisher = graph.createPublisher("pi0fast_ros/msg/Observation", "observation", "reliable");
const sentStamps: string[] = [];

graph.createSubscription("pi0fast_ros/msg/ActionChunk", "action_chunk", "reliable", (chunk) => {
  process.stdout.write(
    `${JSON.stringify({
      chunkStamp: nsFromTime(chunk.header.stamp).toString(),
      sentStamps,
      decodeStatus: chunk.decode_status,
      horizon: chunk.horizon,
      actionNames: chunk.action_names,
      actionCount: chunk.actions_rad.length,
      typedArray: chunk.actions_rad instanceof Float64Array,
      tokenCount: chunk.token_count,
    })}\n`,
  );
  graph.destroy();
  rclnodejs.shutdown();
  process.exit(0);
});

graph.createTimer(300_000_000n, () => {
  const stampNs = graph.nowNs();
  sentStamps.push(stampNs.toString());
  publisher.publish(observationAt(stampNs));
});
graph.spin();
setTimeout(() => {
  process.stderr.write(`driver: no action chunk after ${sentStamps.length} observations\n`);
  process.exit(1);
}, 90_000).unref();
