/** Our resize-with-pad against openpi's own `image_tools.resize_with_pad` (the openpi-client package, PIL bilinear). */
import { describe, expect, it } from "vitest";
import { resizeWithPad, type RgbImage } from "../../src/observation/image.js";
import { interopPython, runPython } from "../helpers/system.js";

const python = interopPython(["openpi_client.image_tools"]);

/** Smooth gradients and a checkerboard, never 0, so every 0 of a result is padding. */
function pattern(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = 10 + Math.floor((x * 240) / width);
      data[i + 1] = 10 + Math.floor((y * 240) / height);
      data[i + 2] = ((x >> 3) + (y >> 3)) % 2 === 0 ? 220 : 30;
    }
  }
  return { width, height, data };
}

function openpiResizeWithPad(image: RgbImage, height: number, width: number): Uint8Array {
  const code = `
import sys, numpy as np
from openpi_client import image_tools
images = np.frombuffer(sys.stdin.buffer.read(), dtype=np.uint8).reshape(1, ${image.height}, ${image.width}, 3)
out = image_tools.resize_with_pad(images, ${height}, ${width})
assert out.shape == (1, ${height}, ${width}, 3), out.shape
sys.stdout.write(out.tobytes().hex())`;
  return Uint8Array.from(Buffer.from(runPython(python!, code, Buffer.from(image.data)), "hex"));
}

describe.skipIf(python === undefined)("resize with pad matches openpi's image_tools.resize_with_pad", () => {
  it.each([
    [640, 480, 224],
    [320, 239, 224],
    [239, 320, 224],
    [1280, 720, 224],
    [100, 51, 32],
  ])("%i×%i → %i: the same padding, pixels within 4 levels, 0.5 on average", async (width, height, size) => {
    const source = pattern(width, height);
    const ours = (await resizeWithPad(source, size, size)).data;
    const reference = openpiResizeWithPad(source, size, size);
    expect(ours.length).toBe(reference.length);
    let padding = 0;
    let paddingMismatches = 0;
    let maxDifference = 0;
    let sumDifference = 0;
    for (let i = 0; i < ours.length; i++) {
      // Padding is exactly where openpi pads (the source has no zero), in both.
      if ((ours[i] === 0) !== (reference[i] === 0)) paddingMismatches++;
      if (reference[i] === 0) padding++;
      maxDifference = Math.max(maxDifference, Math.abs(ours[i]! - reference[i]!));
      sumDifference += Math.abs(ours[i]! - reference[i]!);
    }
    expect(paddingMismatches).toBe(0);
    expect(padding).toBeGreaterThan(0);
    // libvips' and PIL's bilinear (triangle) filters differ only in rounding, at sharp edges.
    expect(maxDifference).toBeLessThanOrEqual(4);
    expect(sumDifference / ours.length).toBeLessThan(0.5);
  });

  it("pads an upscaled image the same way (its pixels differ by libvips' sub-pixel offset from PIL's)", async () => {
    const source = pattern(40, 30);
    const ours = (await resizeWithPad(source, 64, 64)).data;
    const reference = openpiResizeWithPad(source, 64, 64);
    const mismatches = ours.filter((value, i) => (value === 0) !== (reference[i] === 0)).length;
    expect(mismatches).toBe(0);
    expect(ours.filter((value) => value === 0).length).toBe(64 * 16 * 3);
  });
});
