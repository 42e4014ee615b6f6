/**
 * Whether this machine has a GPU Vulkan could drive. onnxruntime's WebGPU provider runs on Vulkan; on a
 * machine without a GPU, Mesa's lavapipe still offers a (software) Vulkan device, and WebGPU then computes
 * on the CPU, far slower than the cpu provider itself. Hardware Vulkan drivers need a kernel GPU device:
 * a DRM render node (Mesa: Intel, AMD, virtio) or an NVIDIA device node.
 */
import { existsSync, readdirSync } from "node:fs";

export function gpuDeviceNodes(devDir = "/dev"): string[] {
  const nodes: string[] = [];
  if (existsSync(`${devDir}/dri`)) nodes.push(...readdirSync(`${devDir}/dri`).filter((name) => name.startsWith("renderD")).map((name) => `${devDir}/dri/${name}`));
  if (existsSync(devDir)) nodes.push(...readdirSync(devDir).filter((name) => /^nvidia\d+$/.test(name)).map((name) => `${devDir}/${name}`));
  return nodes;
}

/** Why WebGPU could only emulate a GPU here, or undefined when a GPU device node exists. */
export function noGpuReason(devDir = "/dev"): string | undefined {
  return gpuDeviceNodes(devDir).length === 0
    ? `no GPU device (${devDir}/dri/renderD*, ${devDir}/nvidia*): WebGPU would run on a software Vulkan driver, slower than the cpu provider`
    : undefined;
}
