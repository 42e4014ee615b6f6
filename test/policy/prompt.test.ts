import { describe, expect, it } from "vitest";
import { cleanTask, digitizeState, promptText } from "../../src/policy/prompt.js";

describe("prompt", () => {
  it("digitizes like numpy: digitize(x, linspace(-1, 1, 257)[:-1]) - 1", () => {
    expect(digitizeState([-1.5, -1, -0.9921875, 0, 0.5, 0.9921875, 0.99, 1, 3])).toEqual([-1, 0, 1, 128, 192, 255, 254, 255, 255]);
    expect(digitizeState([-0.99218751, -0.9921874])).toEqual([0, 1]);
  });

  it("cleans the task the openpi way (lowercase) or the LeRobot way", () => {
    expect(cleanTask("  Pick_up the\nCube ", "openpi")).toBe("pick up the cube");
    expect(cleanTask("  Pick_up the\nCube ", "lerobot")).toBe("Pick up the Cube");
  });

  it("writes the openpi prefix text", () => {
    expect(promptText("pick up the cube", [0, 128, 255])).toBe("Task: pick up the cube, State: 0 128 255;\n");
  });
});
