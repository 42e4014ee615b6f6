/**
 * `ros2msg` texts of the standard messages this project writes into bags, with their dependencies in the
 * layout rosbag2 stores them (a line of 80 `=` then `MSG: pkg/Type`).
 */
const SEPARATOR = "=".repeat(80);

const TIME = "int32 sec\nuint32 nanosec\n";
const HEADER = "builtin_interfaces/Time stamp\nstring frame_id\n";

function withDependencies(root: string, dependencies: [string, string][]): string {
  return [root, ...dependencies.map(([type, text]) => `MSG: ${type}\n${text}`)].join(`${SEPARATOR}\n`);
}

const HEADER_DEPENDENCIES: [string, string][] = [
  ["std_msgs/Header", HEADER],
  ["builtin_interfaces/Time", TIME],
];

export const STANDARD_MESSAGE_TEXT: Record<string, string> = {
  "std_msgs/msg/String": "string data\n",
  "sensor_msgs/msg/JointState": withDependencies(
    "std_msgs/Header header\nstring[] name\nfloat64[] position\nfloat64[] velocity\nfloat64[] effort\n",
    HEADER_DEPENDENCIES,
  ),
  "sensor_msgs/msg/Image": withDependencies(
    "std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\nuint8 is_bigendian\nuint32 step\nuint8[] data\n",
    HEADER_DEPENDENCIES,
  ),
  "sensor_msgs/msg/CompressedImage": withDependencies("std_msgs/Header header\nstring format\nuint8[] data\n", HEADER_DEPENDENCIES),
};
