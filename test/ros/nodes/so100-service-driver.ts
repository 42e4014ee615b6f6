/**
 * A second ROS 2 process for the middleware test: an rclnodejs client, as `ros2 service call` would be,
 * calls the controller's ~/enable_torque and ~/hold, commands a joint and watches joint_states; prints what
 * it saw as JSON and exits.
 */
import { createRosGraph, loadRclnodejs } from "../../../src/ros/ros-graph.js";

interface Client {
  waitForService(timeoutMs: number): Promise<boolean>;
  sendRequestAsync(request: object, options: { timeout: number }): Promise<{ success: boolean; message: string }>;
}

const controller = process.env.CONTROLLER ?? "/itest/so100_controller";
const rclnodejs = await loadRclnodejs();
const graph = await createRosGraph(rclnodejs, { nodeName: "service_driver", argv: process.argv });
const node = graph.node as unknown as { createClient(type: string, name: string): Client };
const enableTorque = node.createClient("std_srvs/srv/SetBool", `${controller}/enable_torque`);
const hold = node.createClient("std_srvs/srv/Trigger", `${controller}/hold`);
const commands = graph.createPublisher("sensor_msgs/msg/JointState", "joint_command", "reliable");
let latest: number[] | undefined;
graph.createSubscription("sensor_msgs/msg/JointState", "joint_states", "reliable", (state) => void (latest = [...state.position]));
graph.spin();
setTimeout(() => {
  process.stderr.write("service driver: gave up after 100 s\n");
  process.exit(1);
}, 100_000).unref();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const command = (pan: number) => commands.publish({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: "" }, name: ["shoulder_pan"], position: Float64Array.of(pan), velocity: new Float64Array(), effort: new Float64Array() });

if (!(await enableTorque.waitForService(60_000)) || !(await hold.waitForService(10_000))) throw new Error("the controller's services did not appear");
while (latest === undefined) await sleep(20);
const start = latest[0]!;
const ignoredBeforeTorque: number[] = [];
for (let i = 0; i < 10; i++) {
  command(start + 0.5);
  await sleep(20);
}
ignoredBeforeTorque.push(latest[0]!);
const torque = await enableTorque.sendRequestAsync({ data: true }, { timeout: 10_000 });
for (let i = 0; i < 50; i++) {
  command(start + 0.5);
  await sleep(20);
}
const moved = latest[0]!;
const held = await hold.sendRequestAsync({}, { timeout: 10_000 });
await sleep(200);
const atHold = latest[0]!;
for (let i = 0; i < 25; i++) {
  command(start + 0.5);
  await sleep(20);
}
const afterHold = latest[0]!;
process.stdout.write(`${JSON.stringify({ start, beforeTorque: ignoredBeforeTorque[0], torque, moved, held, atHold, afterHold })}\n`);
graph.destroy();
rclnodejs.shutdown();
process.exit(0);
