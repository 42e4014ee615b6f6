/**
 * The arm and the cameras for the chunk blender's middleware test, as a third ROS 2 process: publishes
 * observations (sized for the model in $MODEL_DIR) and joint_states (an arm that reports the last command
 * it received, from a known start position), records replan_request, action_chunk and joint_command, and
 * once the blender has executed a few chunks prints what it saw as JSON and exits.
 */
import { makeHeader, nsFromTime } from "../../../src/msgs/messages.js";
import { createRosGraph, loadRclnodejs } from "../../../src/ros/ros-graph.js";
import { greyObservationsForModel } from "./grey-observation.js";
import { SO100_JOINTS } from "../../../src/so100/calibration.js";

const START_POSITION_RAD = [0.1, -0.2, 0.3, -0.1, 0.2, 0.05];

const observationAt = greyObservationsForModel();

const rclnodejs = await loadRclnodejs();
const graph = await createRosGraph(rclnodejs, { nodeName: "arm_driver", argv: process.argv });
const observations = graph.createPublisher("pi0fast_ros/msg/Observation", "observation", "reliable");
const jointStates = graph.createPublisher("sensor_msgs/msg/JointState", "joint_states", "reliable");
const sentStamps: string[] = [];
const requests: Array<{ id: number; atNs: string }> = [];
const chunks: Array<{ id: number; stampNs: string; atNs: string; names: string[]; horizon: number }> = [];
const commands: Array<{ stampNs: string; atNs: string; names: string[]; positions: number[] }> = [];
let armRad = [...START_POSITION_RAD];

graph.createSubscription("pi0fast_ros/msg/ReplanRequest", "replan_request", "reliable", (request) => {
  requests.push({ id: request.request_id, atNs: graph.nowNs().toString() });
});
graph.createSubscription("pi0fast_ros/msg/ActionChunk", "action_chunk", "reliable", (chunk) => {
  chunks.push({ id: chunk.chunk_id, stampNs: nsFromTime(chunk.header.stamp).toString(), atNs: graph.nowNs().toString(), names: chunk.action_names, horizon: chunk.horizon });
});
graph.createSubscription("sensor_msgs/msg/JointState", "joint_command", "reliable", (command) => {
  commands.push({ stampNs: nsFromTime(command.header.stamp).toString(), atNs: graph.nowNs().toString(), names: command.name, positions: [...command.position] });
  armRad = [...command.position];
  const afterThirdChunk = chunks.length >= 3 ? commands.filter((c) => BigInt(c.atNs) > BigInt(chunks[2]!.atNs)).length : 0;
  if (afterThirdChunk >= 30) {
    process.stdout.write(`${JSON.stringify({ startPositionRad: START_POSITION_RAD, sentStamps, requests, chunks, commands })}\n`);
    graph.destroy();
    rclnodejs.shutdown();
    process.exit(0);
  }
});

graph.createTimer(20_000_000n, () => {
  jointStates.publish({ header: makeHeader(graph.nowNs()), name: [...SO100_JOINTS], position: Float64Array.from(armRad), velocity: new Float64Array(0), effort: new Float64Array(0) });
});
graph.createTimer(50_000_000n, () => {
  const stampNs = graph.nowNs();
  sentStamps.push(stampNs.toString());
  observations.publish(observationAt(stampNs));
});
graph.spin();
setTimeout(() => {
  process.stderr.write(`driver: after ${sentStamps.length} observations, ${requests.length} requests, ${chunks.length} chunks, ${commands.length} commands\n`);
  process.exit(1);
}, 100_000).unref();
