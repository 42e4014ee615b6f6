/**
 * AV1 video the way LeRobot stores it: libsvtav1, yuv420p, frame i at exactly i/fps. Frames are piped as
 * raw rgb24 into Debian's ffmpeg (spawned with an argument array, never a shell), with back-pressure so
 * memory stays flat however long the video. Frames SVT-AV1 cannot take (under 64 px, odd sizes) are scaled
 * up by ffmpeg by a whole factor, nearest neighbour: each pixel becomes a k×k block, nothing is interpolated
 * and the aspect ratio is kept, so a policy's resize-with-pad sees the same picture as from the camera.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";

/** What Debian's SVT-AV1 (1.4) encodes: sides of at least 64 px, even, at most 16384 × 8704. */
export const AV1_LIMITS = { minSide: 64, maxWidth: 16384, maxHeight: 8704 } as const;

export interface VideoSize {
  width: number;
  height: number;
  /** Whole factor the frames are scaled up by (1: stored as they are). */
  factor: number;
}

/**
 * The size frames of `width × height` are stored at: scaled by the smallest whole factor that makes both
 * sides even and at least 64 px. Throws a RangeError saying why when no factor fits the encoder.
 */
export function storedVideoSize(width: number, height: number): VideoSize {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`${width}×${height} is not a frame size`);
  let factor = Math.max(1, Math.ceil(AV1_LIMITS.minSide / Math.min(width, height)));
  if ((width % 2 === 1 || height % 2 === 1) && factor % 2 === 1) factor += 1;
  const size = { width: width * factor, height: height * factor, factor };
  if (size.width > AV1_LIMITS.maxWidth || size.height > AV1_LIMITS.maxHeight) {
    const scaled = factor > 1 ? ` (scaled ×${factor} to ${size.width}×${size.height} to reach even sides of ${AV1_LIMITS.minSide} px)` : "";
    throw new RangeError(`${width}×${height}${scaled} exceeds the largest frame SVT-AV1 encodes, ${AV1_LIMITS.maxWidth}×${AV1_LIMITS.maxHeight}`);
  }
  return size;
}

export interface VideoOptions {
  file: string;
  /** Names the stream in errors (a camera and its topic), never the file: it lives in a staging folder. */
  label: string;
  /** Size of the frames `write` takes. */
  width: number;
  height: number;
  fps: number;
  /** SVT-AV1 preset 0 (slow) … 13 (fast). */
  preset?: number;
  crf?: number;
  /** Keyframe interval; LeRobot uses 2 so any frame decodes quickly. */
  gop?: number;
  ffmpeg?: string;
}

/** The ffmpeg arguments; exported so tests can check the codec settings. */
export function ffmpegArguments(options: VideoOptions): string[] {
  const stored = storedVideoSize(options.width, options.height);
  return [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${options.width}x${options.height}`, "-framerate", String(options.fps),
    "-i", "pipe:0",
    // scaled in rgb24 (format=rgb24 keeps the nearest-neighbour step apart from the yuv420p conversion)
    ...(stored.factor > 1 ? ["-vf", `scale=${stored.width}:${stored.height}:flags=neighbor,format=rgb24`] : []),
    "-c:v", "libsvtav1", "-pix_fmt", "yuv420p",
    "-preset", String(options.preset ?? 10), "-crf", String(options.crf ?? 30), "-g", String(options.gop ?? 2),
    "-svtav1-params", "lp=2",
    "-fps_mode", "passthrough",
    "-f", "mp4", options.file,
  ];
}

export class VideoEncoder {
  readonly options: VideoOptions;
  readonly stored: VideoSize;
  readonly #process: ChildProcessByStdio<Writable, null, Readable>;
  readonly #exit: Promise<number | null>;
  #stderr = "";
  #frames = 0;
  #failed: Error | undefined;

  constructor(options: VideoOptions) {
    this.stored = storedVideoSize(options.width, options.height);
    this.options = options;
    this.#process = spawn(options.ffmpeg ?? "ffmpeg", ffmpegArguments(options), { stdio: ["pipe", "ignore", "pipe"] });
    this.#process.stderr.setEncoding("utf8");
    this.#process.stderr.on("data", (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    this.#process.stdin.on("error", (error) => {
      this.#failed ??= error;
    });
    this.#exit = new Promise((resolve, reject) => {
      this.#process.on("error", (error) => {
        this.#failed ??= error;
        reject(new Error(`cannot run ffmpeg (${error.message}); install Debian's ffmpeg (it has libsvtav1)`));
      });
      this.#process.on("close", (code) => resolve(code));
    });
    this.#exit.catch(() => undefined);
  }

  get frameCount(): number {
    return this.#frames;
  }

  /** Appends one packed rgb8 frame; waits when ffmpeg is behind. */
  async write(rgb: Uint8Array): Promise<void> {
    if (this.#failed !== undefined) throw new Error(`ffmpeg failed encoding ${this.options.label}: ${this.#failed.message} ${this.#ffmpegSays()}`);
    if (rgb.length !== this.options.width * this.options.height * 3) {
      throw new Error(`${this.options.label}: frame of ${rgb.length} bytes, expected ${this.options.width}×${this.options.height}×3`);
    }
    this.#frames += 1;
    if (!this.#process.stdin.write(rgb)) await Promise.race([once(this.#process.stdin, "drain"), this.#exit]);
  }

  /** Closes the input and waits for ffmpeg to finish the file. */
  async finish(): Promise<void> {
    this.#process.stdin.end();
    const code = await this.#exit;
    if (code !== 0) throw new Error(`ffmpeg exited with ${code} encoding ${this.options.label}: ${this.#ffmpegSays()}`);
  }

  /** ffmpeg's last words, with the staging file named by the stream's label. */
  #ffmpegSays(): string {
    return this.#stderr.trim().split(this.options.file).join(this.options.label);
  }

  /** Stops ffmpeg without waiting for a usable file. */
  abort(): void {
    this.#process.stdin.destroy();
    this.#process.kill("SIGKILL");
  }
}
