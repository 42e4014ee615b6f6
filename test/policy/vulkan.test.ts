import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { gpuDeviceNodes, noGpuReason } from "../../src/policy/vulkan.js";

function devDir(files: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), "pi0fast-dev-"));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), "");
  }
  return dir;
}

describe("GPU detection for WebGPU", () => {
  it("finds DRM render nodes and NVIDIA device nodes, nothing else", () => {
    const dir = devDir(["dri/renderD128", "dri/card0", "nvidia0", "nvidiactl", "nvidia-uvm", "null"]);
    expect(gpuDeviceNodes(dir).sort()).toEqual([`${dir}/dri/renderD128`, `${dir}/nvidia0`].sort());
    expect(noGpuReason(dir)).toBeUndefined();
  });

  it("explains that WebGPU would be software-only on a machine without a GPU", () => {
    const dir = devDir(["null", "dri/card0"]);
    expect(gpuDeviceNodes(dir)).toEqual([]);
    expect(noGpuReason(dir)).toMatch(/no GPU device .*software Vulkan driver, slower than the cpu provider/);
  });
});

describe("provider choice without a GPU", () => {
  it("skips WebGPU for the cpu provider after it when no GPU device exists, and says why", async () => {
    const { tinyModel, removeModels } = await import("./model-fixture.js");
    const { Pi0FastPolicy } = await import("../../src/policy/policy.js");
    const { dir } = await tinyModel({ seed: 5 });
    const warnings: string[] = [];
    const policy = await Pi0FastPolicy.load(dir, { providers: ["webgpu", "cpu"], warn: (message) => void warnings.push(message) });
    try {
      if (gpuDeviceNodes().length === 0) {
        expect(policy.provider).toBe("cpu");
        expect(warnings.join("\n")).toMatch(/execution provider webgpu skipped: no GPU device/);
      } else {
        expect(warnings.join("\n")).not.toMatch(/no GPU device/);
      }
    } finally {
      policy.dispose();
      removeModels();
    }
  });
});
