/**
 * Our runtime against LeRobot 0.6.1's own inference, token for token: a tiny pi0_fast checkpoint built and
 * trained with LeRobot's classes, exported by tools/export_pi0fast.py, run through `pi0fast policy run --json`
 * and in-process; LeRobot's `predict_action_chunk`/`select_action` on the same observation is the oracle.
 */
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pi0FastPolicy, type PolicyImage } from "../../src/policy/policy.js";
import { runCli } from "../helpers/cli.js";
import { lerobotPython } from "../helpers/system.js";
import { EXPORTER, exportArgs, exportedModel, runTool, tinyCheckpoint, type TinyCheckpoint } from "./lerobot-fixture.js";

const python = lerobotPython();

interface RunReport {
  prompt_ids: number[];
  token_ids: number[];
  fast_ids: number[];
  status: string;
  actions: number[][];
  actions_rad: number[][];
  timings: Record<string, number>;
}

function policyRun(model: string, tiny: TinyCheckpoint, extra: string[] = []): RunReport {
  const { cameras, state, task } = tiny.observation;
  const images = cameras.flatMap((camera) => ["--image", `${camera}=${path.join(tiny.observationDir, `${camera}.png`)}`]);
  const result = runCli(["policy", "run", "--model", model, ...images, `--state=${state.join(",")}`, "--task", task, "--provider", "cpu", "--json", ...extra]);
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as RunReport;
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

async function observationImages(tiny: TinyCheckpoint): Promise<PolicyImage[]> {
  return Promise.all(
    tiny.observation.cameras.map(async (camera) => {
      const { data, info } = await sharp(readFileSync(path.join(tiny.observationDir, `${camera}.png`))).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      return { width: info.width, height: info.height, data: new Uint8Array(data) };
    }),
  );
}

/** float16 bits → number (the runtime hands fp16 features over as their bits). */
function halfToNumber(bits: number): number {
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

describe.skipIf(python === undefined)("pi0_fast parity with LeRobot 0.6.1", () => {
  for (const cameras of [1, 2] as const) {
    describe(`${cameras} camera(s)`, () => {
      let tiny: TinyCheckpoint;
      let fp32: string;
      let fp16: string;
      const policies: Pi0FastPolicy[] = [];

      beforeAll(async () => {
        tiny = await tinyCheckpoint(python!, cameras);
        fp32 = await exportedModel(python!, tiny, "fp32");
        fp16 = await exportedModel(python!, tiny, "fp16");
      }, 600_000);
      afterAll(async () => {
        await Promise.all(policies.map((policy) => policy.dispose()));
      });

      it("LeRobot's reference emits a whole chunk, and select_action's first action is the chunk's first", () => {
        const ref = tiny.reference;
        expect(ref.token_ids.at(-1)).toBe(JSON.parse(readFileSync(path.join(fp32, "pi0fast.json"), "utf8")).tokens.pipe);
        expect(ref.actions).toHaveLength(10);
        expect(maxAbsDifference(ref.select_action, ref.actions[0]!)).toBe(0);
      });

      it("fp32: same prompt ids, same greedy tokens, actions within 1e-4", () => {
        const ours = policyRun(fp32, tiny);
        expect(ours.prompt_ids).toEqual(tiny.reference.prompt_ids);
        expect(ours.token_ids).toEqual(tiny.reference.token_ids);
        expect(ours.status).toBe("ok");
        expect(ours.actions).toHaveLength(tiny.reference.actions.length);
        expect(maxAbsDifference(ours.actions.flat(), tiny.reference.actions.flat())).toBeLessThan(1e-4);
        // Exported with --units degrees: radians are the plain conversion.
        expect(maxAbsDifference(ours.actions_rad.flat(), ours.actions.flat().map((deg) => (deg * Math.PI * 4095) / (180 * 4096)))).toBeLessThan(1e-12);
      });

      it("the model generates \"Action: \" itself: the plain argmax gives LeRobot's tokens too", () => {
        const ours = policyRun(fp32, tiny, ["--no-constrained"]);
        expect(ours.token_ids).toEqual(tiny.reference.token_ids);
        expect(maxAbsDifference(ours.actions.flat(), tiny.reference.actions.flat())).toBeLessThan(1e-4);
      });

      it("fp32: vision features and prefill logits within 1e-4 of LeRobot's", async () => {
        const policy = await Pi0FastPolicy.load(fp32, { providers: ["cpu"] });
        policies.push(policy);
        const images = await observationImages(tiny);
        const features = await policy.imageFeatures(policy.pixelValues(images));
        expect(maxAbsDifference(features as Float32Array, tiny.reference.image_features.flat(2))).toBeLessThan(1e-4);
        const result = await policy.infer({ images, state: tiny.observation.state, instruction: tiny.observation.task });
        const reference = policy.manifest.logit_token_ids.map((id) => tiny.reference.prefill_logits[id]!);
        expect(maxAbsDifference(result.prefillLogits, reference)).toBeLessThan(1e-4);
      });

      it.runIf(cameras === 1)("weights in external data files (as past 2 GB) load and give the same tokens", () => {
        const out = path.join(mkdtempSync(path.join(os.tmpdir(), "pi0fast-external-")), "model");
        runTool(python!, [EXPORTER, ...exportArgs(tiny, out)], { PI0FAST_EXPORT_INLINE_LIMIT_BYTES: "1000" });
        expect(readdirSync(out).filter((name) => name.endsWith(".onnx_data")).sort()).toEqual(["decoder_model.onnx_data", "embed_tokens.onnx_data", "vision_encoder.onnx_data"]);
        expect(policyRun(out, tiny).token_ids).toEqual(tiny.reference.token_ids);
      });

      it("fp16: same greedy tokens; vision features and prefill logits within 2e-3 of LeRobot fp32 (measured: under 1e-3)", async () => {
        const ours = policyRun(fp16, tiny);
        expect(ours.prompt_ids).toEqual(tiny.reference.prompt_ids);
        expect(ours.token_ids).toEqual(tiny.reference.token_ids);
        expect(maxAbsDifference(ours.actions.flat(), tiny.reference.actions.flat())).toBeLessThan(1e-4);
        const policy = await Pi0FastPolicy.load(fp16, { providers: ["cpu"] });
        policies.push(policy);
        const images = await observationImages(tiny);
        const features = Array.from(await policy.imageFeatures(policy.pixelValues(images)), halfToNumber);
        const featureError = maxAbsDifference(features, tiny.reference.image_features.flat(2));
        const result = await policy.infer({ images, state: tiny.observation.state, instruction: tiny.observation.task });
        const logitError = maxAbsDifference(result.prefillLogits, policy.manifest.logit_token_ids.map((id) => tiny.reference.prefill_logits[id]!));
        console.log(`fp16 vs LeRobot fp32, ${cameras} camera(s): vision features max |Δ| ${featureError.toExponential(2)}, prefill logits max |Δ| ${logitError.toExponential(2)}`);
        expect(featureError).toBeLessThan(2e-3);
        expect(logitError).toBeLessThan(2e-3);
      });
    });
  }
});
