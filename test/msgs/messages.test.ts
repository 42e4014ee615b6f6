import { readFileSync } from "node:fs";
import path from "node:path";
import { MessageReader, MessageWriter } from "@foxglove/rosmsg2-serialization";
import { describe, expect, it } from "vitest";
import { CdrMessageWriter } from "../../src/msgs/cdr.js";
import { serializationDefinitions, standardServiceDefinitions } from "../../src/msgs/message-definitions.js";
import { generateMessageModule } from "../../src/msgs/message-codegen.js";
import { readAllDefinitions } from "../../src/msgs/message-files.js";
import {
  Pi0fastRosActionChunkConstants,
  makeHeader,
  normalizeMessage,
  type MessageOf,
  type MessageTypeName,
} from "../../src/msgs/messages.js";
import { REPO_ROOT } from "../helpers/system.js";

const definitions = readAllDefinitions(path.join(REPO_ROOT, "msg"));

function roundTrip<N extends MessageTypeName>(type: N, message: MessageOf<N>): unknown {
  const defs = serializationDefinitions(type, definitions);
  const bytes = new CdrMessageWriter(defs).writeMessage(message);
  return new MessageReader(defs).readMessage(bytes);
}

const samples: { [N in MessageTypeName]?: MessageOf<N> } = {
  "pi0fast_ros/msg/Observation": {
    header: makeHeader(1_700_000_000_123_456_789n, "base_link"),
    camera_names: ["wrist", "front"],
    images: [
      { header: makeHeader(1n), height: 2, width: 2, encoding: "rgb8", is_bigendian: 0, step: 6, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) },
      { header: makeHeader(2n), height: 1, width: 1, encoding: "rgb8", is_bigendian: 0, step: 3, data: new Uint8Array([255, 0, 128]) },
    ],
    image_stamps: [makeHeader(1n).stamp, makeHeader(2n).stamp],
    state: new Float64Array([0.5, -12.25, 33.0, 0, 1e-9, 100]),
    state_names: ["shoulder_pan.pos", "shoulder_lift.pos", "elbow_flex.pos", "wrist_flex.pos", "wrist_roll.pos", "gripper.pos"],
    state_stamp: makeHeader(3n).stamp,
    instruction: "pick up the red cube",
  },
  "pi0fast_ros/msg/ActionChunk": {
    header: makeHeader(42n),
    chunk_id: 7,
    dt_s: 1 / 30,
    horizon: 2,
    action_names: ["shoulder_pan", "gripper"],
    actions_rad: new Float64Array([0.1, 0.2, -0.3, 1.5]),
    inference_latency_ms: 123.5,
    token_count: 31,
    decode_status: Pi0fastRosActionChunkConstants.DECODE_REPAIRED,
    decode_detail: "padded 2 coefficients",
  },
  "pi0fast_ros/msg/ReplanRequest": { header: makeHeader(5n), request_id: 3, current_chunk_id: 2, current_step: 17 },
  "sensor_msgs/msg/Image": { header: makeHeader(9n, "camera"), height: 1, width: 2, encoding: "mono16", is_bigendian: 1, step: 4, data: new Uint8Array([1, 2, 3, 4]) },
  "sensor_msgs/msg/CompressedImage": { header: makeHeader(9n), format: "jpeg", data: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]) },
  "sensor_msgs/msg/JointState": {
    header: makeHeader(10n),
    name: ["shoulder_pan", "gripper"],
    position: new Float64Array([0.25, -1]),
    velocity: new Float64Array([]),
    effort: new Float64Array([0.5, 0.5]),
  },
  "std_msgs/msg/String": { data: "grasp the sponge ✓" },
  "std_msgs/msg/Float64MultiArray": {
    layout: { dim: [{ label: "joints", size: 6, stride: 6 }], data_offset: 0 },
    data: new Float64Array([1, 2, 3, 4, 5, 6]),
  },
  "diagnostic_msgs/msg/DiagnosticArray": {
    header: makeHeader(11n),
    status: [{ level: 1, name: "policy: inference", message: "slow", hardware_id: "gpu0", values: [{ key: "latency_ms", value: "812" }] }],
  },
};

describe("CDR round trips", () => {
  for (const [type, message] of Object.entries(samples) as Array<[MessageTypeName, MessageOf<MessageTypeName>]>) {
    it(`${type} survives serialization and normalizes to the generated shape`, () => {
      const decoded = roundTrip(type, message);
      expect(normalizeMessage(type, decoded)).toEqual(message);
    });
  }

  it("writes the CDR bytes a ROS 2 peer expects for a String (encapsulation header, UTF-8 byte length, NUL)", () => {
    const bytes = new CdrMessageWriter(serializationDefinitions("std_msgs/msg/String", definitions)).writeMessage({ data: "a✓" });
    expect([...bytes]).toEqual([0, 1, 0, 0, 5, 0, 0, 0, 0x61, 0xe2, 0x9c, 0x93, 0]);
  });

  it("writes the same bytes as @foxglove/rosmsg2-serialization wherever that writer is correct (ASCII text)", () => {
    for (const [type, message] of Object.entries(samples) as Array<[MessageTypeName, MessageOf<MessageTypeName>]>) {
      if (type === "std_msgs/msg/String") continue; // its sample is non-ASCII, which the foxglove writer mis-sizes
      const defs = serializationDefinitions(type, definitions);
      expect([type, [...new CdrMessageWriter(defs).writeMessage(message)]]).toEqual([type, [...new MessageWriter(defs).writeMessage(message)]]);
    }
  });
});

describe("CdrMessageWriter arrays", () => {
  it("writes a plain number array exactly as the typed array it stands for, with CDR alignment", () => {
    const defs = serializationDefinitions("sensor_msgs/msg/JointState", definitions);
    const writer = new CdrMessageWriter(defs);
    const header = makeHeader(7n, "odd");
    const typed = writer.writeMessage({ header, name: ["a"], position: new Float64Array([1.5, -2]), velocity: new Float64Array([]), effort: new Float64Array([3]) });
    const plain = writer.writeMessage({ header, name: ["a"], position: [1.5, -2], velocity: [], effort: [3] });
    expect([...plain]).toEqual([...typed]);
    const decoded = new MessageReader(defs).readMessage(plain) as { position: Float64Array; effort: Float64Array };
    expect([...decoded.position, ...decoded.effort]).toEqual([1.5, -2, 3]);
  });
});

describe("normalizeMessage", () => {
  it("turns plain arrays into the typed arrays the types promise, recursively", () => {
    const chunk = normalizeMessage("pi0fast_ros/msg/ActionChunk", {
      header: { stamp: { sec: 1, nanosec: 2 }, frame_id: "" },
      chunk_id: 1,
      dt_s: 0.02,
      horizon: 1,
      action_names: ["a"],
      actions_rad: [0.5],
      inference_latency_ms: 1,
      token_count: 1,
      decode_status: 0,
      decode_detail: "",
    });
    expect(chunk.actions_rad).toBeInstanceOf(Float64Array);
    expect(Array.from(chunk.actions_rad)).toEqual([0.5]);
    const observation = normalizeMessage("pi0fast_ros/msg/Observation", { header: {}, images: [{ header: {}, data: [1, 2] }], state: [1] });
    expect(observation.images[0]!.data).toBeInstanceOf(Uint8Array);
    expect(observation.camera_names).toEqual([]);
  });

  it("keeps a typed array that already has the promised type (an image is not copied) and converts one that has not", () => {
    const data = new Uint8Array(640 * 480 * 3).fill(7);
    const image = normalizeMessage("sensor_msgs/msg/Image", { header: {}, height: 480, width: 640, encoding: "rgb8", is_bigendian: 0, step: 1920, data });
    expect(image.data).toBe(data);
    const state = normalizeMessage("sensor_msgs/msg/JointState", { header: {}, name: ["a"], position: new Float32Array([0.5]), velocity: [], effort: [] });
    expect(state.position).toBeInstanceOf(Float64Array);
    expect(Array.from(state.position)).toEqual([0.5]);
  });

  it("names the field that is not an array", () => {
    expect(() => normalizeMessage("sensor_msgs/msg/JointState", { header: {}, name: "shoulder_pan" })).toThrow(/field 'name' must be an array/);
  });
});

describe("generated message types", () => {
  it("are up to date with msg/ (run `npm run gen:msgs` after editing a .msg file)", () => {
    const committed = readFileSync(path.join(REPO_ROOT, "src/msgs/messages.generated.ts"), "utf8");
    expect(committed).toBe(generateMessageModule(definitions, standardServiceDefinitions()));
  });

  it("cover our three messages with the fields DESIGN.md names", () => {
    expect(definitions.get("pi0fast_ros/msg/ActionChunk")!.definitions.map((f) => f.name)).toEqual(
      expect.arrayContaining(["header", "chunk_id", "dt_s", "horizon", "action_names", "actions_rad", "inference_latency_ms", "token_count", "decode_status"]),
    );
  });
});
