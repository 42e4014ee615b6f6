/**
 * `npm run bench -- eval [--seconds 10] [--rounds 3]`: replay evaluation speed as a multiple of real time,
 * `--policy recorded` on a sample recording (make-sample-bag's defaults: 2 cameras 320×240 rgb8 at 30 Hz,
 * joint states at 100 Hz), per injected latency, medians over rounds after one warm-up replay. References
 * measured in the same run: reading and decoding the played topics alone (the ceiling of any replay), and the
 * aggregator's image conversion of every frame alone (the share the cameras take).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BagReader } from "../src/bag/reader.js";
import { makeSampleBags, SAMPLE_TOPICS } from "../src/bag/sample.js";
import { runReplay } from "../src/eval/replay.js";
import { normalizeMessage } from "../src/msgs/messages.js";
import { readParamsFile } from "../src/nodes/host.js";
import { imageMessageToModelInput } from "../src/observation/image.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const configFile = path.join(repoRoot, "config/eval.yaml");

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(name);
  return index >= 0 ? Number(args[index + 1]) : fallback;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function run(args: string[]): Promise<void> {
  const seconds = option(args, "--seconds", 10);
  const rounds = option(args, "--rounds", 3);
  const dir = mkdtempSync(path.join(tmpdir(), "pi0fast-bench-eval-"));
  try {
    const [bagDir] = (await makeSampleBags({ outDir: path.join(dir, "bags"), format: "mcap", episodes: 1, seconds, cameras: 2, width: 320, height: 240, seed: 0 })) as [string];
    const params = readParamsFile(configFile);
    const replay = (ms: number) => runReplay({ bagPath: bagDir, params, configName: configFile, policy: { kind: "recorded" }, latency: { kind: "injected", ms } });
    const played = [SAMPLE_TOPICS.camera(0), SAMPLE_TOPICS.camera(1), SAMPLE_TOPICS.follower, SAMPLE_TOPICS.instruction, SAMPLE_TOPICS.leader];
    const warm = await replay(100);
    const bagS = warm.bagDurationS;
    console.log(`recording: ${bagS.toFixed(1)} s, 2 cameras 320×240 rgb8 at 30 Hz, joint states at 100 Hz; ${rounds} round(s) after one warm-up replay`);

    const latencies = [0, 100, 300];
    const wall = new Map<number, number[]>(latencies.map((ms) => [ms, []]));
    const readS: number[] = [];
    const convertS: number[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const ms of latencies) {
        const result = await replay(ms);
        wall.get(ms)!.push(result.wallS);
      }
      // reference: read and decode what a replay reads, nothing else
      let started = performance.now();
      const bag = await BagReader.open(bagDir);
      for await (const message of bag.messages({ topics: played })) normalizeMessage(message.type as "sensor_msgs/msg/Image", message.message);
      readS.push((performance.now() - started) / 1000);
      // reference: the aggregator's image conversion of every frame (32 px, pad), one at a time as it does
      started = performance.now();
      for await (const message of bag.messages({ topics: [SAMPLE_TOPICS.camera(0), SAMPLE_TOPICS.camera(1)] })) {
        await imageMessageToModelInput(message.type, message.message!, 32, "pad", message.topic);
      }
      convertS.push((performance.now() - started) / 1000);
    }
    for (const ms of latencies) {
      const s = median(wall.get(ms)!);
      console.log(`replay, recorded oracle, ${String(ms).padStart(3)} ms latency: ${s.toFixed(3)} s wall = ${(bagS / s).toFixed(1)}× real time`);
    }
    const replayS = median(latencies.map((ms) => median(wall.get(ms)!)));
    console.log(`reference, read + decode the played topics: ${median(readS).toFixed(3)} s = ${(bagS / median(readS)).toFixed(1)}× real time (a replay takes ${(replayS / median(readS)).toFixed(1)}× as long)`);
    console.log(`reference, image conversion of every frame to 32 px: ${median(convertS).toFixed(3)} s = ${((median(convertS) / replayS) * 100).toFixed(0)}% of a replay's wall time`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
