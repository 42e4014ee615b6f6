import { describe, expect, it } from "vitest";
import { z } from "zod";
import { InputError } from "../../src/errors.js";
import { describeParameters, nodePatternMatches, parseParamsFile, resolveOverrides } from "../../src/ros/parameters.js";
import { parseRosArgs } from "../../src/ros/ros-args.js";

describe("parameter specs from zod schemas", () => {
  it("maps types, descriptions, defaults, ranges and enums", () => {
    const specs = describeParameters(
      z.object({
        control_rate_hz: z.number().positive().max(1000).default(30).describe("Control loop rate, Hz"),
        n_steps_warmup: z.number().int().min(0).default(5),
        schedule: z.enum(["constant", "linear"]).default("linear"),
        joint_names: z.array(z.string()).default(["a"]),
        limits_rad: z.array(z.number()).default([1.5]),
        ids: z.array(z.number().int()).default([1, 2]),
        torque: z.boolean().default(true),
        label: z.string().default(""),
      }),
    );
    expect(specs).toEqual([
      { name: "control_rate_hz", kind: "double", description: "Control loop rate, Hz", defaultValue: 30, range: { from: 0, to: 1000 } },
      { name: "n_steps_warmup", kind: "integer", description: "", defaultValue: 5, range: { from: 0, to: Number.MAX_SAFE_INTEGER } },
      { name: "schedule", kind: "string", description: "", defaultValue: "linear", allowed: ["constant", "linear"] },
      { name: "joint_names", kind: "string_array", description: "", defaultValue: ["a"] },
      { name: "limits_rad", kind: "double_array", description: "", defaultValue: [1.5] },
      { name: "ids", kind: "integer_array", description: "", defaultValue: [1, 2] },
      { name: "torque", kind: "bool", description: "", defaultValue: true },
      { name: "label", kind: "string", description: "", defaultValue: "" },
    ]);
  });

  it("refuses a parameter without a default or of a type ROS cannot hold", () => {
    expect(() => describeParameters(z.object({ model_dir: z.string() }))).toThrow(/'model_dir' has no default/);
    expect(() => describeParameters(z.object({ nested: z.object({ a: z.number() }).default({ a: 1 }) }))).toThrow(/'nested' has a type ROS parameters cannot hold/);
  });
});

describe("params files", () => {
  it("parses the ROS layout and flattens nested maps to dotted names", () => {
    const entries = parseParamsFile("/**/policy:\n  ros__parameters:\n    model_dir: /models/x\n    providers:\n      order: [cuda, cpu]\n", "pipeline.yaml");
    expect(entries).toEqual([{ nodePattern: "/**/policy", parameters: { model_dir: "/models/x", "providers.order": ["cuda", "cpu"] } }]);
  });

  it("names the file and the node when the layout is wrong", () => {
    expect(() => parseParamsFile("policy:\n  model_dir: x\n", "bad.yaml")).toThrow(/bad\.yaml: node 'policy' must hold a 'ros__parameters' map/);
    expect(() => parseParamsFile("[1, 2]", "list.yaml")).toThrow(InputError);
    expect(() => parseParamsFile("a: [", "broken.yaml")).toThrow(/broken\.yaml: not valid YAML/);
  });

  it("matches node names as ROS does", () => {
    const cases: Array<[string, string, boolean]> = [
      ["/**", "/policy", true],
      ["/**", "/so100/policy", true],
      ["policy", "/policy", true],
      ["policy", "/so100/policy", false],
      ["/so100/policy", "/so100/policy", true],
      ["/so100/policy", "/arm2/policy", false],
      ["/**/policy", "/so100/policy", true],
      ["/**/policy", "/policy", true],
      ["/**/policy", "/a/b/policy", true],
      ["/*/policy", "/so100/policy", true],
      ["/*/policy", "/a/b/policy", false],
      ["/so100/*", "/so100/chunk_blender", true],
      ["/so100/chunk_*", "/so100/chunk_blender", true],
      ["/so100/chunk_*", "/so100/policy", false],
      ["/**/policy", "/so100/policy_node", false],
    ];
    for (const [pattern, name, expected] of cases) expect([pattern, name, nodePatternMatches(pattern, name)]).toEqual([pattern, name, expected]);
  });

  it("lets later matching sections win", () => {
    const entries = parseParamsFile(
      "/**:\n  ros__parameters:\n    rate: 1\n    use_sim_time: true\n/so100/policy:\n  ros__parameters:\n    rate: 2\n/**/policy:\n  ros__parameters:\n    rate: 3\n",
      "f.yaml",
    );
    expect(resolveOverrides(entries, "/so100/policy")).toEqual({ rate: 3, use_sim_time: true });
    expect(resolveOverrides(entries, "/so100/blender")).toEqual({ rate: 1, use_sim_time: true });
  });
});

describe("--ros-args", () => {
  it("reads what ros2 launch passes to a node started with name and namespace", () => {
    const args = parseRosArgs([
      "--graph",
      "ros",
      "--ros-args",
      "-r",
      "__node:=policy",
      "-r",
      "__ns:=/so100",
      "--params-file",
      "/tmp/launch_params_1",
      "-r",
      "observation:=/obs",
      "-r",
      "policy:image:=/cam",
      "-p",
      "control_rate_hz:=50.0",
      "-p",
      "policy:names:=[a, b]",
      "--log-level",
      "debug",
      "--",
      "--extra",
    ]);
    expect(args).toEqual({
      nodeName: "policy",
      namespace: "/so100",
      remaps: [
        { from: "observation", to: "/obs" },
        { node: "policy", from: "image", to: "/cam" },
      ],
      paramsFiles: ["/tmp/launch_params_1"],
      params: [
        { name: "control_rate_hz", value: 50 },
        { node: "policy", name: "names", value: ["a", "b"] },
      ],
      logLevel: "debug",
      rest: ["--graph", "ros", "--extra"],
    });
  });

  it("names a malformed ROS argument", () => {
    expect(() => parseRosArgs(["--ros-args", "-p", "rate=5"])).toThrow(/'-p rate=5': expected 'name:=value'/);
    expect(() => parseRosArgs(["--ros-args", "--params-file"])).toThrow(/'--params-file' needs a value/);
    expect(() => parseRosArgs(["--ros-args", "--bogus"])).toThrow(/unknown ROS argument '--bogus'/);
  });
});
