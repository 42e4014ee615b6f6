/**
 * A second ROS 2 process for the middleware test: publishes pi0fast_ros/Observation messages sized for
 * the model in $MODEL_DIR until an ActionChunk comes back, then prints what it saw as JSON and exits.
 * Runs on RosGraph, so the adapter itself is exercised on the real rcl/rmw.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { makeHeader, nsFromTime } from "../../../src/msgs/messages.js";
import { createRosGraph, loadRclnodejs } from "../../../src/ros/ros-graph.js";

const modelDir = process.env.MODEL_DIR;
if (modelDir === undefined) throw new Error("MODEL_DIR is not set");
const manifest = JSON.parse(readFileSync(path.join(modelDir, "pi0fast.json"), "utf8")) as {
  vision: { image_size: number; cameras: string[] };
  state: { names: string[] };
};

const rclnodejs = await loadRclnodejs();
const graph = await createRosGraph(rclnodejs, { nodeName: "driver", argv: process.argv });
const publisher = graph.createPublisher("pi0fast_ros/msg/Observation", "observation", "reliable");
const sentStamps: string[] = [];
const size = manifest.vision.image_size;

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
  publisher.publish({
    header: makeHeader(stampNs, "base_link"),
    camera_names: manifest.vision.cameras,
    images: manifest.vision.cameras.map(() => ({
      header: makeHeader(stampNs),
      height: size,
      width: size,
      encoding: "rgb8",
      is_bigendian: 0,
      step: size * 3,
      data: new Uint8Array(size * size * 3).fill(90),
    })),
    image_stamps: manifest.vision.cameras.map(() => makeHeader(stampNs).stamp),
    state: new Float64Array(manifest.state.names.length),
    state_names: manifest.state.names,
    state_stamp: makeHeader(stampNs).stamp,
    instruction: "pick up the red cube",
  });
});
graph.spin();
setTimeout(() => {
  process.stderr.write(`driver: no action chunk after ${sentStamps.length} observations\n`);
  process.exit(1);
}, 90_000).unref();
