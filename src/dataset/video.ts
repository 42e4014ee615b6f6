/**
 * AV1 video the way LeRobot stores it: libsvtav1, yuv420p, frame i at exactly i/fps. Frames are piped as
 * raw rgb24 into Debian's ffmpeg (spawned with an argument array, never a shell), with back-pressure so
 * memory stays flat however long the video.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import { InputError } from "../errors.js";

export interface VideoOptions {
  file: string;
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
  return [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${options.width}x${options.height}`, "-framerate", String(options.fps),
    "-i", "pipe:0",
    "-c:v", "libsvtav1", "-pix_fmt", "yuv420p",
    "-preset", String(options.preset ?? 10), "-crf", String(options.crf ?? 30), "-g", String(options.gop ?? 2),
    "-svtav1-params", "lp=2",
    "-fps_mode", "passthrough",
    "-f", "mp4", options.file,
  ];
}

export class VideoEncoder {
  readonly options: VideoOptions;
  readonly #process: ChildProcessByStdio<Writable, null, Readable>;
  readonly #exit: Promise<number | null>;
  #stderr = "";
  #frames = 0;
  #failed: Error | undefined;

  constructor(options: VideoOptions) {
    if (options.width < 64 || options.height < 64 || options.width % 2 !== 0 || options.height % 2 !== 0) {
      throw new InputError(`${options.file}: frames of ${options.width}×${options.height} cannot be AV1-encoded; expected even sizes of at least 64 px (set width/height in the mapping)`);
    }
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
    if (this.#failed !== undefined) throw new Error(`ffmpeg failed writing ${this.options.file}: ${this.#failed.message} ${this.#stderr}`);
    if (rgb.length !== this.options.width * this.options.height * 3) {
      throw new Error(`${this.options.file}: frame of ${rgb.length} bytes, expected ${this.options.width}×${this.options.height}×3`);
    }
    this.#frames += 1;
    if (!this.#process.stdin.write(rgb)) await Promise.race([once(this.#process.stdin, "drain"), this.#exit]);
  }

  /** Closes the input and waits for ffmpeg to finish the file. */
  async finish(): Promise<void> {
    this.#process.stdin.end();
    const code = await this.#exit;
    if (code !== 0) throw new Error(`ffmpeg exited with ${code} writing ${this.options.file}: ${this.#stderr.trim()}`);
  }

  /** Stops ffmpeg without waiting for a usable file. */
  abort(): void {
    this.#process.stdin.destroy();
    this.#process.kill("SIGKILL");
  }
}
