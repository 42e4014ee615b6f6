import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { BadImageError, compressedImageToRgb, imageMessageToModelInput, imageMessageToRgb, padGeometry, rawImageToRgb, resizeRgb, resizeWithPad, toModelInput } from "../../src/observation/image.js";

const W = 3;
const H = 2;
/** Expected rgb8 of a 3×2 test pattern. */
const rgb = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 37 + 11) % 256);

function rawMessage(encoding: string, bytesPerPixel: number, fill: (x: number, y: number, out: Uint8Array, at: number) => void, padding = 0, bigEndian = 0) {
  const step = W * bytesPerPixel + padding;
  const data = new Uint8Array(step * H).fill(0xee);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) fill(x, y, data, y * step + x * bytesPerPixel);
  return { width: W, height: H, encoding, is_bigendian: bigEndian, step, data };
}

const px = (x: number, y: number, c: number) => rgb[(y * W + x) * 3 + c]!;

describe("raw image conversion", () => {
  it.each([0, 5])("rgb8, bgr8, rgba8, bgra8 with %i bytes of row padding", (padding) => {
    const cases = {
      rgb8: rawMessage("rgb8", 3, (x, y, d, a) => d.set([px(x, y, 0), px(x, y, 1), px(x, y, 2)], a), padding),
      bgr8: rawMessage("bgr8", 3, (x, y, d, a) => d.set([px(x, y, 2), px(x, y, 1), px(x, y, 0)], a), padding),
      rgba8: rawMessage("rgba8", 4, (x, y, d, a) => d.set([px(x, y, 0), px(x, y, 1), px(x, y, 2), 9], a), padding),
      bgra8: rawMessage("bgra8", 4, (x, y, d, a) => d.set([px(x, y, 2), px(x, y, 1), px(x, y, 0), 9], a), padding),
    };
    for (const [encoding, message] of Object.entries(cases)) {
      expect(rawImageToRgb(message, "t").data, encoding).toEqual(rgb);
    }
  });

  it("mono8 and mono16 in both byte orders", () => {
    const gray = (x: number, y: number) => px(x, y, 0);
    const expected = Uint8Array.from({ length: W * H * 3 }, (_, i) => gray(Math.floor(i / 3) % W, Math.floor(i / 3 / W)));
    expect(rawImageToRgb(rawMessage("mono8", 1, (x, y, d, a) => (d[a] = gray(x, y)), 2), "t").data).toEqual(expected);
    const little = rawMessage("mono16", 2, (x, y, d, a) => d.set([gray(x, y), gray(x, y)], a)); // v * 257
    expect(rawImageToRgb(little, "t").data).toEqual(expected);
    const big = rawMessage("mono16", 2, (x, y, d, a) => d.set([gray(x, y), 0], a), 0, 1); // v << 8, big-endian
    const little16 = rawMessage("mono16", 2, (x, y, d, a) => d.set([0, gray(x, y)], a), 0, 0); // the same value little-endian
    expect(rawImageToRgb(big, "t").data).toEqual(rawImageToRgb(little16, "t").data);
    expect(rawImageToRgb(big, "t").data[0]).toBe(Math.round((gray(0, 0) * 256) / 257));
  });

  it("reports a header that does not match the data with the topic and stamp", () => {
    const message = { width: 640, height: 480, encoding: "rgb8", is_bigendian: 0, step: 1920, data: new Uint8Array(30) };
    expect(() => rawImageToRgb(message, "/camera at 12.5 s")).toThrow(BadImageError);
    expect(() => rawImageToRgb(message, "/camera at 12.5 s")).toThrow(/\/camera at 12\.5 s: 640×480 rgb8 with step 1920 needs 921600 bytes but carries 30/);
    expect(() => rawImageToRgb({ ...message, encoding: "yuv422", data: new Uint8Array(921600) }, "c")).toThrow(/encoding 'yuv422' is not supported/);
    expect(() => rawImageToRgb({ ...message, step: 100 }, "c")).toThrow(/step 100 is less than width/);
  });
});

describe("compressed images and resizing", () => {
  it("decodes png exactly and jpeg closely", async () => {
    const source = { width: 64, height: 48, data: Uint8Array.from({ length: 64 * 48 * 3 }, (_, i) => (i % 3 === 0 ? 200 : (i * 7) % 256)) };
    const raw = { raw: { width: 64, height: 48, channels: 3 as const } };
    const png = await sharp(source.data, raw).png().toBuffer();
    expect((await compressedImageToRgb({ format: "png", data: png }, "t")).data).toEqual(source.data);
    const flat = new Uint8Array(64 * 48 * 3).fill(120);
    const jpeg = await sharp(flat, raw).jpeg({ quality: 95 }).toBuffer();
    const decoded = await imageMessageToRgb("sensor_msgs/msg/CompressedImage", { format: "rgb8; jpeg compressed bgr8", data: jpeg }, "t");
    expect(decoded.width).toBe(64);
    expect(Math.max(...decoded.data.map((v) => Math.abs(v - 120)))).toBeLessThanOrEqual(2);
    await expect(compressedImageToRgb({ format: "jpeg", data: new Uint8Array([1, 2, 3]) }, "/cam at 3 s")).rejects.toThrow(/\/cam at 3 s: the jpeg data \(3 bytes\) does not decode/);
  });

  it("resizes to the feature size", async () => {
    const image = { width: 4, height: 2, data: new Uint8Array(4 * 2 * 3).fill(80) };
    const resized = await resizeRgb(image, 2, 1);
    expect(resized).toMatchObject({ width: 2, height: 1 });
    expect(Array.from(resized.data)).toEqual([80, 80, 80, 80, 80, 80]);
    expect(await resizeRgb(image, 4, 2)).toBe(image);
  });
});

describe("resize with pad (openpi / LeRobot geometry)", () => {
  it("scales by the larger ratio, truncates, and centres with the odd pixel at the bottom/right", () => {
    expect(padGeometry(640, 480, 224, 224)).toEqual({ width: 224, height: 168, left: 0, top: 28 });
    expect(padGeometry(320, 239, 224, 224)).toEqual({ width: 224, height: 167, left: 0, top: 28 });
    expect(padGeometry(239, 320, 224, 224)).toEqual({ width: 167, height: 224, left: 28, top: 0 });
    expect(padGeometry(32, 24, 64, 64)).toEqual({ width: 64, height: 48, left: 0, top: 8 });
    // 5000 / (5000 / 224) is 223.99999999999997 in floating point, truncated as Python does; a side keeps ≥ 1 px.
    expect(padGeometry(5000, 1, 224, 224)).toEqual({ width: 223, height: 1, left: 0, top: 111 });
  });

  it("pads with black around the resized image and returns an image already at size as is", async () => {
    const image = { width: 320, height: 239, data: new Uint8Array(320 * 239 * 3).fill(90) };
    const padded = await resizeWithPad(image, 224, 224);
    expect(padded).toMatchObject({ width: 224, height: 224 });
    const row = (y: number) => Array.from(padded.data.subarray(y * 224 * 3, (y + 1) * 224 * 3));
    expect(new Set(row(27))).toEqual(new Set([0]));
    expect(new Set(row(28))).toEqual(new Set([90]));
    expect(new Set(row(28 + 166))).toEqual(new Set([90]));
    expect(new Set(row(28 + 167))).toEqual(new Set([0]));
    expect(await resizeWithPad(image, 320, 239)).toBe(image);
    expect((await toModelInput(image, 32, "fill")).data.every((v) => v === 90)).toBe(true);
    expect((await toModelInput(image, 32, "pad")).data.filter((v) => v === 0).length).toBeGreaterThan(0);
  });
});

describe("image message → model input", () => {
  it("gives the same pixels for packed rgb8 (passed to sharp as is), padded rows and bgr8", async () => {
    const width = 40;
    const height = 30;
    const rgbPixels = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 13 + (i >> 7)) & 0xff);
    const packed = { width, height, encoding: "rgb8", is_bigendian: 0, step: width * 3, data: rgbPixels };
    const paddedData = new Uint8Array((width * 3 + 4) * height).fill(0xee);
    const bgrData = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      paddedData.set(rgbPixels.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 4));
      for (let x = 0; x < width; x++) bgrData.set([...rgbPixels.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)].reverse(), (y * width + x) * 3);
    }
    const padded = { ...packed, step: width * 3 + 4, data: paddedData };
    const bgr = { ...packed, encoding: "bgr8", data: bgrData };
    const out = async (message: Record<string, unknown>) => (await imageMessageToModelInput("sensor_msgs/msg/Image", message, 16, "pad", "t")).data;
    const reference = await out(packed);
    expect(reference.length).toBe(16 * 16 * 3);
    expect(await out(padded)).toEqual(reference);
    expect(await out(bgr)).toEqual(reference);
    await expect(out({ ...packed, data: rgbPixels.subarray(0, 100) })).rejects.toThrow(/t: 40×30 rgb8 with step 120 needs 3600 bytes but carries 100/);
  });
});
