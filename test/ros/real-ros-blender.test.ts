/**
 * The chunk blender and the policy node as separate processes on a real ROS 2 middleware, with a third
 * process as arm and cameras: joint_states → the arm's position commanded first → replan_request →
 * action_chunk → rate-limited joint_command. Skipped where the middleware is not set up (see
 * test/helpers/ros-processes.ts).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeTestModel } from "../../src/policy/index.js";
import { SO100_JOINTS } from "../../src/so100/calibration.js";
import { installPrefix, rosEnvironment, runDriver, startNodeProcess } from "../helpers/ros-processes.js";

const rosEnv = rosEnvironment();
const MAX_VELOCITY_RAD_S = 1.0;
const PERIOD_S = 0.01;

interface Seen {
  startPositionRad: number[];
  sentStamps: string[];
  requests: Array<{ id: number; atNs: string }>;
  chunks: Array<{ id: number; stampNs: string; atNs: string; names: string[]; horizon: number }>;
  commands: Array<{ stampNs: string; atNs: string; names: string[]; positions: number[] }>;
}

describe.skipIf(rosEnv === undefined)("chunk blender on a real ROS 2 middleware", () => {
  it(`${installPrefix !== undefined ? "installed chunk_blender_node and policy_node" : "chunk blender and policy nodes"} in their own processes: replan_request → action_chunk → joint_command from the arm's position, rate-limited`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pi0fast-ros-blender-"));
    const modelDir = path.join(dir, "model");
    await makeTestModel({ out: modelDir, preset: "tiny", seed: 4 });
    // Launch-style keys (fully qualified), as `ros2 launch` writes them for pipeline.launch.xml.
    const paramsFile = path.join(dir, "launch_params.yaml");
    writeFileSync(
      paramsFile,
      [
        "/rtc/policy:",
        "  ros__parameters:",
        `    model_dir: ${JSON.stringify(modelDir)}`,
        "    providers: [cpu]",
        "    warmup_inferences: 1",
        "    max_observation_age_ms: 2000.0",
        "/rtc/chunk_blender:",
        "  ros__parameters:",
        `    max_joint_velocity_rad_s: [${MAX_VELOCITY_RAD_S.toFixed(1)}]`,
        "    n_steps_warmup: 2",
        "    n_steps_between_replan: 5",
        "    max_chunk_age_ms: 5000.0",
        "    replan_timeout_ms: 5000.0",
        "    joint_position_min_rad: []",
        "",
      ].join("\n"),
    );
    const args = (node: string) => ["--ros-args", "-r", `__node:=${node}`, "-r", "__ns:=/rtc", "--params-file", paramsFile];
    const policy = startNodeProcess(rosEnv!, "policy", args("policy"));
    const blender = startNodeProcess(rosEnv!, "chunk_blender", args("chunk_blender"));
    const driver = await runDriver(rosEnv!, "blender-driver.ts", ["--ros-args", "-r", "__ns:=/rtc"], { MODEL_DIR: modelDir }, 150_000);
    const [blenderCode, policyCode] = [await blender.stop(), await policy.stop()];
    const logs = `driver stderr: ${driver.stderr}\nblender log: ${blender.log()}\npolicy log: ${policy.log()}`;

    expect(driver.status, logs).toBe(0);
    const seen = JSON.parse(driver.stdout.trim().split("\n").pop()!) as Seen;
    // The first command is where the arm is.
    expect(seen.commands[0]!.names).toEqual([...SO100_JOINTS]);
    expect(seen.commands[0]!.positions).toEqual(seen.startPositionRad);
    // The blender asked first; the policy answered with chunks computed from observations the driver sent.
    expect(BigInt(seen.requests[0]!.atNs)).toBeLessThan(BigInt(seen.chunks[0]!.atNs));
    expect(seen.requests.map((r) => r.id)).toEqual(seen.requests.map((_, i) => i + 1));
    expect(seen.requests.length).toBeGreaterThanOrEqual(3);
    for (const chunk of seen.chunks) {
      expect(seen.sentStamps).toContain(chunk.stampNs);
      expect(chunk.names).toEqual([...SO100_JOINTS]);
    }
    // Commands follow the chunks (the tiny model's actions are random, far from the start) at the velocity limit.
    const last = seen.commands.at(-1)!;
    expect(Math.max(...last.positions.map((p, j) => Math.abs(p - seen.startPositionRad[j]!)))).toBeGreaterThan(0.01);
    for (let k = 1; k < seen.commands.length; k++) {
      const [a, b] = [seen.commands[k - 1]!, seen.commands[k]!];
      const dtS = Number(BigInt(b.stampNs) - BigInt(a.stampNs)) / 1e9;
      expect(dtS).toBeGreaterThan(0);
      for (let j = 0; j < b.positions.length; j++) {
        expect(Number.isFinite(b.positions[j]!)).toBe(true);
        expect(Math.abs(b.positions[j]! - a.positions[j]!)).toBeLessThanOrEqual(MAX_VELOCITY_RAD_S * Math.min(dtS, PERIOD_S) + 1e-12);
      }
    }
    expect(blenderCode, logs).toBe(0);
    expect(policyCode, logs).toBe(0);
  });
});
