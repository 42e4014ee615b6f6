import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate, PREFIX_GROUP } from "../../src/policy/decoder.js";
import { Pi0FastPolicy } from "../../src/policy/policy.js";
import { removeModels, tinyModel } from "./model-fixture.js";

// Dawn needs a runtime directory; lavapipe (Mesa's CPU Vulkan driver) provides the adapter in CI.
process.env.XDG_RUNTIME_DIR ??= mkdtempSync(path.join(os.tmpdir(), "pi0fast-xdg-"));

describe("WebGPU execution provider", () => {
  let cpu: Pi0FastPolicy;
  let gpu: Pi0FastPolicy | undefined;
  let unavailable = "";

  beforeAll(async () => {
    const { dir } = await tinyModel({ seed: 12 });
    cpu = await Pi0FastPolicy.load(dir, { providers: ["cpu"] });
    try {
      gpu = await Pi0FastPolicy.load(dir, { providers: ["webgpu"] });
    } catch (error) {
      unavailable = error instanceof Error ? error.message : String(error);
      if (process.env.REQUIRE_SYSTEM_DEPS === "1") throw new Error(`no WebGPU adapter (${unavailable}), and REQUIRE_SYSTEM_DEPS=1 says the tests need it (install mesa-vulkan-drivers as .ci/run does)`);
      console.warn(`skipping WebGPU tests: no adapter (${unavailable})`);
    }
  });
  afterAll(async () => {
    await cpu?.dispose();
    await gpu?.dispose();
    removeModels();
  });

  it("produces the same tokens as the CPU provider, keeping the KV cache on the GPU", async (context) => {
    if (gpu === undefined) context.skip();
    const webgpu = gpu!;
    expect(webgpu.provider).toBe("webgpu");
    const width = cpu.decoder.width;
    // A short prefix and few steps: lavapipe is slow.
    const prefix = Float32Array.from({ length: 6 * width }, (_, i) => Math.sin(i * 0.37) * 0.3);
    const suffix = Float32Array.from({ length: 2 * width }, (_, i) => Math.cos(i * 0.11) * 0.3);
    const options = (policy: Pi0FastPolicy) => ({ vocabulary: policy.vocabulary, tokenEmbeddings: policy.tokenEmbeddings, maxSteps: 4 });
    const onCpu = await generate(cpu.decoder, prefix, suffix, options(cpu));
    const onGpu = await generate(webgpu.decoder, prefix, suffix, options(webgpu));
    expect(onGpu.fastIds).toEqual(onCpu.fastIds);
    expect(onGpu.end).toBe(onCpu.end);

    const groups = new BigInt64Array(8).fill(BigInt(PREFIX_GROUP));
    groups[6] = 2n;
    groups[7] = 3n;
    const input = new Float32Array([...prefix, ...suffix]);
    const cpuRun = await cpu.decoder.run(input, groups, cpu.decoder.emptyCache());
    const gpuRun = await webgpu.decoder.run(input, groups, webgpu.decoder.emptyCache());
    try {
      expect(gpuRun.cache.tensors["past_key_values.0.key"]!.location).toBe("gpu-buffer");
      let worst = 0;
      for (let i = 0; i < cpuRun.logits.length; i++) worst = Math.max(worst, Math.abs(cpuRun.logits[i]! - gpuRun.logits[i]!));
      expect(worst).toBeLessThan(1e-3);
    } finally {
      gpuRun.cache.dispose();
    }
  });
});
