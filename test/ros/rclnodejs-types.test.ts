import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/system.js";

// rclnodejs cannot install without ROS 2, so its published declarations are unpacked on their own
// (`npm run fetch:rclnodejs-types`, which .ci/run calls) and the adapter's view of the API is compiled
// against them.
const typesDir = path.join(REPO_ROOT, ".cache/rclnodejs/types/index.d.ts");
const available = existsSync(typesDir);
if (!available) {
  if (process.env.REQUIRE_SYSTEM_DEPS === "1") throw new Error(`rclnodejs type declarations missing at ${typesDir}: run npm run fetch:rclnodejs-types`);
  console.warn("skipping the rclnodejs type contract: run `npm run fetch:rclnodejs-types` first");
}

describe.skipIf(!available)("RosGraph's rclnodejs API surface", () => {
  it("type-checks against rclnodejs 2.2.0's own declarations", () => {
    const tsc = path.join(REPO_ROOT, "node_modules/.bin/tsc");
    let output = "";
    try {
      execFileSync(tsc, ["-p", path.join(REPO_ROOT, "test/types/tsconfig.rclnodejs.json")], { encoding: "utf8", stdio: "pipe" });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe("");
  });
});
