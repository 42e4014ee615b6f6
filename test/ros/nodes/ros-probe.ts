/**
 * A second ROS 2 process that looks at a running node the way ROS's own tools do: waits for a message on
 * /diagnostics (`ros2 topic echo --once`), then calls the node's parameter services (`ros2 param describe`,
 * `ros2 param get`, `ros2 param set`), prints what it saw as JSON and exits. $TARGET is the node's full name;
 * $BAD_MODEL_DIR the model_dir it tries to set.
 */
import { createRosGraph, loadRclnodejs } from "../../../src/ros/ros-graph.js";

const target = process.env.TARGET;
const badModelDir = process.env.BAD_MODEL_DIR;
if (target === undefined || badModelDir === undefined) throw new Error("TARGET and BAD_MODEL_DIR must be set");

interface ServiceClient {
  waitForService(timeoutMs?: number): Promise<boolean>;
  sendRequestAsync(request: unknown, options?: { timeout?: number }): Promise<Record<string, unknown>>;
}

const rclnodejs = await loadRclnodejs();
const graph = await createRosGraph(rclnodejs, { nodeName: "probe", argv: process.argv });
const node = graph.node as unknown as { createClient(type: string, service: string): ServiceClient };
const timeout = setTimeout(() => {
  process.stderr.write("probe: no answer in 60 s\n");
  process.exit(1);
}, 60_000);

const diagnostics = new Promise<string[]>((resolve) => {
  graph.createSubscription("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", "reliable", (array) => resolve(array.status.map((status) => `${status.name}: ${status.message}`)));
});
graph.spin();

async function call(service: string, type: string, request: unknown): Promise<Record<string, unknown>> {
  const client = node.createClient(type, `${target}/${service}`);
  if (!(await client.waitForService(20_000))) throw new Error(`${target}/${service} is not offered`);
  return client.sendRequestAsync(request, { timeout: 20_000 });
}

const PARAMETER_STRING = 4;
const described = await call("describe_parameters", "rcl_interfaces/srv/DescribeParameters", { names: ["max_decode_steps", "max_observation_age_ms", "model_dir"] });
const got = await call("get_parameters", "rcl_interfaces/srv/GetParameters", { names: ["use_sim_time", "max_decode_steps"] });
const set = await call("set_parameters", "rcl_interfaces/srv/SetParameters", { parameters: [{ name: "model_dir", value: { type: PARAMETER_STRING, string_value: badModelDir } }] });
const after = await call("get_parameters", "rcl_interfaces/srv/GetParameters", { names: ["model_dir"] });

const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? Number(v) : ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v)));
process.stdout.write(`${JSON.stringify({ diagnostics: await diagnostics, described: plain(described.descriptors), got: plain(got.values), set: plain(set.results), after: plain(after.values) })}\n`);
clearTimeout(timeout);
graph.destroy();
rclnodejs.shutdown();
process.exit(0);
