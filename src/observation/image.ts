/**
 * ROS images → packed rgb8, for the dataset converter and the observation aggregator.
 * Raw `sensor_msgs/Image` (rgb8, bgr8, rgba8, bgra8, mono8, mono16 with `is_bigendian`, rows padded to
 * `step`) is converted here; `sensor_msgs/CompressedImage` (jpeg, png) is decoded through sharp.
 * Resizing (sharp, bilinear) either stretches to the target size or keeps the aspect ratio and pads, as
 * openpi's and LeRobot's `resize_with_pad` do for Pi0-FAST.
 */
import sharp from "sharp";
import { InputError } from "../errors.js";

/** A packed rgb8 image: `data.length === width * height * 3`, rows without padding. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** The fields of `sensor_msgs/Image` this module reads. */
export interface RawImageMessage {
  width: number;
  height: number;
  encoding: string;
  is_bigendian: number | boolean;
  step: number;
  data: Uint8Array;
}

/** The fields of `sensor_msgs/CompressedImage` this module reads. */
export interface CompressedImageMessage {
  format: string;
  data: Uint8Array;
}

/** An image whose bytes do not match its header (or cannot be decoded). `--on-bad-frame` decides its fate. */
export class BadImageError extends InputError {}

const BYTES_PER_PIXEL: Record<string, number> = { rgb8: 3, bgr8: 3, rgba8: 4, bgra8: 4, mono8: 1, mono16: 2, "8uc1": 1, "8uc3": 3, "16uc1": 2 };

export const SUPPORTED_RAW_ENCODINGS = ["rgb8", "bgr8", "rgba8", "bgra8", "mono8", "mono16"] as const;

/** Converts a raw Image to packed rgb8; `where` (topic and stamp) names it in errors. */
export function rawImageToRgb(image: RawImageMessage, where: string): RgbImage {
  const encoding = image.encoding.toLowerCase();
  const bytesPerPixel = BYTES_PER_PIXEL[encoding];
  if (bytesPerPixel === undefined) {
    throw new BadImageError(`${where}: image encoding '${image.encoding}' is not supported; expected one of ${SUPPORTED_RAW_ENCODINGS.join(", ")}`);
  }
  const { width, height, step, data } = image;
  if (width <= 0 || height <= 0) throw new BadImageError(`${where}: image is ${width}×${height}; expected a positive size`);
  if (step < width * bytesPerPixel) {
    throw new BadImageError(`${where}: step ${step} is less than width ${width} × ${bytesPerPixel} bytes per pixel (${image.encoding})`);
  }
  const needed = step * (height - 1) + width * bytesPerPixel;
  if (data.length < needed) {
    throw new BadImageError(`${where}: ${width}×${height} ${image.encoding} with step ${step} needs ${step * height} bytes but carries ${data.length}`);
  }
  const out = new Uint8Array(width * height * 3);
  const bigEndian = image.is_bigendian === true || image.is_bigendian === 1;
  for (let y = 0; y < height; y++) {
    const row = y * step;
    const target = y * width * 3;
    switch (encoding) {
      case "rgb8":
      case "8uc3":
        out.set(data.subarray(row, row + width * 3), target);
        break;
      case "bgr8":
        for (let x = 0; x < width; x++) {
          const s = row + x * 3;
          const t = target + x * 3;
          out[t] = data[s + 2]!;
          out[t + 1] = data[s + 1]!;
          out[t + 2] = data[s]!;
        }
        break;
      case "rgba8":
      case "bgra8": {
        const [r, b] = encoding === "rgba8" ? [0, 2] : [2, 0];
        for (let x = 0; x < width; x++) {
          const s = row + x * 4;
          const t = target + x * 3;
          out[t] = data[s + r]!;
          out[t + 1] = data[s + 1]!;
          out[t + 2] = data[s + b]!;
        }
        break;
      }
      case "mono8":
      case "8uc1":
        for (let x = 0; x < width; x++) {
          const v = data[row + x]!;
          const t = target + x * 3;
          out[t] = v;
          out[t + 1] = v;
          out[t + 2] = v;
        }
        break;
      default: {
        // mono16 / 16UC1: scale 0..65535 to 0..255
        for (let x = 0; x < width; x++) {
          const s = row + x * 2;
          const value = bigEndian ? (data[s]! << 8) | data[s + 1]! : data[s]! | (data[s + 1]! << 8);
          const v = Math.round(value / 257);
          const t = target + x * 3;
          out[t] = v;
          out[t + 1] = v;
          out[t + 2] = v;
        }
      }
    }
  }
  return { width, height, data: out };
}

/** Decodes a jpeg/png CompressedImage to packed rgb8. */
export async function compressedImageToRgb(image: CompressedImageMessage, where: string): Promise<RgbImage> {
  const format = image.format.toLowerCase();
  if (!/jpe?g|png/.test(format)) {
    throw new BadImageError(`${where}: compressed format '${image.format}' is not supported; expected jpeg or png`);
  }
  try {
    const { data, info } = await sharp(image.data).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    if (info.channels === 3) return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
    const out = new Uint8Array(info.width * info.height * 3);
    for (let i = 0; i < info.width * info.height; i++) out.fill(data[i * info.channels]!, i * 3, i * 3 + 3);
    return { width: info.width, height: info.height, data: out };
  } catch (error) {
    throw new BadImageError(`${where}: the ${image.format} data (${image.data.length} bytes) does not decode (${(error as Error).message})`);
  }
}

/** Either image message type → packed rgb8. */
export async function imageMessageToRgb(type: string, message: Record<string, unknown>, where: string): Promise<RgbImage> {
  if (type.endsWith("CompressedImage")) return compressedImageToRgb(message as unknown as CompressedImageMessage, where);
  if (type.endsWith("/Image")) return rawImageToRgb(message as unknown as RawImageMessage, where);
  throw new InputError(`${where}: type ${type} is not an image; expected sensor_msgs/msg/Image or CompressedImage`);
}

/** Resizes packed rgb8 (bilinear, aspect not kept: the target size is the feature's shape). */
export async function resizeRgb(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: "fill", kernel: "linear" })
    .raw()
    .toBuffer();
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * How an image becomes the model's input: `pad` keeps its aspect ratio and pads with black (openpi's
 * `image_tools.resize_with_pad`, LeRobot pi0_fast's `resize_with_pad_torch`), `fill` stretches it.
 */
export const IMAGE_RESIZE_MODES = ["pad", "fill"] as const;
export type ImageResize = (typeof IMAGE_RESIZE_MODES)[number];

/** Where resize-with-pad puts the resized image inside the target. */
export interface PadGeometry {
  /** Size of the resized image, before padding. */
  width: number;
  height: number;
  /** Black columns on the left and rows on top; the remainder of an odd padding goes right and bottom. */
  left: number;
  top: number;
}

/**
 * openpi's and LeRobot's geometry: one scale `max(w/W, h/H)`, resized sizes truncated to integers, the
 * padding split evenly with the odd pixel at the bottom/right (a side never shrinks below 1 px).
 */
export function padGeometry(width: number, height: number, targetWidth: number, targetHeight: number): PadGeometry {
  const ratio = Math.max(width / targetWidth, height / targetHeight);
  const resizedWidth = Math.max(1, Math.trunc(width / ratio));
  const resizedHeight = Math.max(1, Math.trunc(height / ratio));
  return { width: resizedWidth, height: resizedHeight, left: Math.trunc((targetWidth - resizedWidth) / 2), top: Math.trunc((targetHeight - resizedHeight) / 2) };
}

/** Resizes packed rgb8 keeping the aspect ratio, centred on black (0) padding; an image already at size is returned as is. */
export async function resizeWithPad(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  const g = padGeometry(image.width, image.height, width, height);
  const resized = await resizeRgb(image, g.width, g.height);
  // The padding is a row copy into a zeroed buffer: a second sharp operation (extend) costs more than the resize.
  const data = new Uint8Array(width * height * 3);
  const rowBytes = g.width * 3;
  for (let y = 0; y < g.height; y++) data.set(resized.data.subarray(y * rowBytes, (y + 1) * rowBytes), ((g.top + y) * width + g.left) * 3);
  return { width, height, data };
}

/** Packed rgb8 at the model's square input size, by `mode`. */
export function toModelInput(image: RgbImage, size: number, mode: ImageResize): Promise<RgbImage> {
  return mode === "pad" ? resizeWithPad(image, size, size) : resizeRgb(image, size, size);
}

/**
 * Either image message type → packed rgb8 at the model's input size. A raw rgb8 image without row padding
 * goes to sharp as it is (sharp copies what it reads): no 900 KB copy per 640×480 frame.
 */
export async function imageMessageToModelInput(type: string, message: Record<string, unknown>, size: number, mode: ImageResize, where: string): Promise<RgbImage> {
  const raw = message as unknown as RawImageMessage;
  const packed = type.endsWith("/Image") && raw.encoding === "rgb8" && raw.width > 0 && raw.height > 0 && raw.step === raw.width * 3 && raw.data.length >= raw.step * raw.height;
  const image = packed ? { width: raw.width, height: raw.height, data: raw.data.subarray(0, raw.step * raw.height) } : await imageMessageToRgb(type, message, where);
  return toModelInput(image, size, mode);
}
