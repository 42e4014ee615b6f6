/**
 * `pi0fast make-test-model` (a contract-conforming model with seeded random weights),
 * `pi0fast policy check` (load, validate, one inference on a synthetic observation, stage timings) and
 * `pi0fast policy run` (one inference on given images, state and task).
 */
import { readFileSync } from "node:fs";
import type { Argv, CommandModule } from "yargs";
import type { CommandBody } from "./command-body.js";
import { InputError } from "../errors.js";
import { compressedImageToRgb, resizeRgb } from "../observation/image.js";
import { parseCalibration, type Calibration } from "../so100/calibration.js";
import { Pi0FastPolicy, type PolicyImage, type PolicyInput } from "../policy/policy.js";
import { PROVIDERS, type ProviderName } from "../policy/sessions.js";
import { PRESET_NAMES, makeTestModel, type PresetName } from "../policy/test-model.js";
import { StagedOutput } from "../output-dir.js";
import { exitCleanlyOnSignals } from "./interrupt.js";
import { numberOption, OVERWRITE_OPTION, POSITIVE_INTEGER, SEED } from "./options.js";

interface MakeTestModelArgs {
  out: string;
  overwrite: boolean;
  preset: PresetName;
  dtype: "fp32" | "fp16";
  seed: number;
  horizon: number;
}

export const makeTestModelCommand: CommandBody<object, MakeTestModelArgs> = {
  builder: (yargs: Argv) =>
    yargs
      .option("out", { type: "string", demandOption: true, describe: "Model directory to write (new or empty)" })
      .option("overwrite", OVERWRITE_OPTION)
      .option("preset", { choices: PRESET_NAMES, default: "tiny" as PresetName, describe: "tiny (tests), small (CPU benches), paligemma-3b (real dimensions, external weights)" })
      .option("dtype", { choices: ["fp32", "fp16"] as const, default: "fp32" as const })
      .option("seed", numberOption("seed", SEED, { default: 0 }))
      .option("horizon", numberOption("horizon", POSITIVE_INTEGER, { default: 10, describe: "Action chunk length the FAST tokenizer is trained for" })) as unknown as Argv<MakeTestModelArgs>,
  handler: async (args) => {
    const start = performance.now();
    const interrupt = exitCleanlyOnSignals("make-test-model", args.out);
    let manifest;
    try {
      // written whole into a staging folder, then moved into place (the one output rule, src/output-dir.ts)
      manifest = await StagedOutput.write(args.out, { overwrite: args.overwrite, label: `--out ${args.out}` }, (staging) =>
        makeTestModel({ out: staging, preset: args.preset, dtype: args.dtype, seed: args.seed, horizon: args.horizon }),
      );
    } finally {
      interrupt.dispose();
    }
    const d = manifest.decoder;
    console.log(`wrote ${args.out}: ${manifest.name}, ${d.num_layers} layers × width ${d.hidden_size}, vocabulary ${d.vocab_size}, ${manifest.logit_token_ids.length} logits, ${((performance.now() - start) / 1000).toFixed(1)} s`);
  },
};

interface CheckArgs {
  model: string;
  provider?: string[];
  json: boolean;
  constrained: boolean;
}

const checkCommand: CommandModule<object, CheckArgs> = {
  command: "check",
  describe: "Load and validate a model directory, run one inference on a synthetic observation, print stage timings",
  builder: (yargs: Argv) =>
    yargs
      .option("model", { type: "string", demandOption: true, describe: "Model directory (pi0fast.json + ONNX graphs)" })
      .option("provider", { type: "string", array: true, describe: `Execution providers in order of preference (${PROVIDERS.join(", ")}); default cuda webgpu cpu` })
      .option("json", { type: "boolean", default: false, describe: "Print one JSON object" })
      .option("constrained", { type: "boolean", default: true, describe: "Constrained decoding (--no-constrained: plain argmax)" }) as unknown as Argv<CheckArgs>,
  handler: async (args) => {
    const providers = parseProviders(args.provider);
    const warnings: string[] = [];
    const loadStart = performance.now();
    const policy = await Pi0FastPolicy.load(args.model, { ...(providers !== undefined ? { providers } : {}), constrained: args.constrained, warn: (message) => warnings.push(message) });
    const loadMs = performance.now() - loadStart;
    try {
      const result = await policy.infer(syntheticObservation(policy));
      const t = result.timings;
      const steps = t.decodeStepMs;
      const meanStep = steps.length > 0 ? steps.reduce((a, b) => a + b, 0) / steps.length : 0;
      const report = {
        model: policy.manifest.name,
        provider: result.provider,
        skipped_providers: policy.sessions.skipped,
        load_ms: round(loadMs),
        status: result.status,
        detail: result.detail,
        token_count: result.tokenCount,
        end: result.end,
        timings_ms: {
          vision: round(t.visionMs),
          prompt: round(t.promptMs),
          prefill: round(t.prefillMs),
          decode_steps: steps.length,
          decode_step_mean: round(meanStep),
          decode_total: round(steps.reduce((a, b) => a + b, 0)),
          fast_decode: round(t.fastDecodeMs),
          total: round(t.totalMs),
          outside_session_run_share: round((t.totalMs - t.sessionRunMs) / t.totalMs, 4),
        },
        horizon: result.horizon,
        action_names: result.actionNames,
      };
      if (args.json) console.log(JSON.stringify(report, null, 2));
      else {
        for (const warning of warnings) console.log(`note: ${warning}`);
        console.log(`model     ${report.model} (${args.model})`);
        console.log(`provider  ${report.provider}${report.skipped_providers.length > 0 ? ` (skipped: ${report.skipped_providers.map((s) => s.provider).join(", ")})` : ""}`);
        console.log(`status    ${report.status}${report.detail !== "" ? ` (${report.detail})` : ""}, ${report.token_count} action tokens, ended by ${report.end}`);
        console.log(`load      ${report.load_ms} ms`);
        const tm = report.timings_ms;
        console.log(`vision    ${tm.vision} ms\nprompt    ${tm.prompt} ms\nprefill   ${tm.prefill} ms\ndecode    ${tm.decode_steps} steps, ${tm.decode_step_mean} ms/step, ${tm.decode_total} ms\nfast      ${tm.fast_decode} ms\ntotal     ${tm.total} ms (outside session.run: ${(tm.outside_session_run_share * 100).toFixed(1)}%)`);
      }
      if (result.status === "failed") process.exitCode = 1;
    } finally {
      await policy.dispose();
    }
  },
};

interface RunArgs {
  model: string;
  image?: string[];
  state: string;
  task: string;
  provider?: string[];
  calibration?: string;
  json: boolean;
  constrained: boolean;
}

const runCommand: CommandModule<object, RunArgs> = {
  command: "run",
  describe: "One inference on given camera images, state and task: prompt ids, generated tokens, actions (policy units and radians), stage timings",
  builder: (yargs: Argv) =>
    yargs
      .option("model", { type: "string", demandOption: true, describe: "Model directory (pi0fast.json + ONNX graphs)" })
      .option("image", { type: "string", array: true, describe: "<camera>=<png or jpeg>, one per camera of the model (observation.images.<camera> or <camera>)" })
      .option("state", { type: "string", demandOption: true, describe: "Comma-separated state values in the dataset's units, in the model's state order" })
      .option("task", { type: "string", demandOption: true, describe: "The instruction" })
      .option("provider", { type: "string", array: true, describe: `Execution providers in order of preference (${PROVIDERS.join(", ")}); default cuda webgpu cpu` })
      .option("calibration", { type: "string", describe: "LeRobot calibration JSON (needed for actions in range units)" })
      .option("json", { type: "boolean", default: false, describe: "Print one JSON object" })
      .option("constrained", { type: "boolean", default: true, describe: "Constrained decoding (--no-constrained: plain argmax)" }) as unknown as Argv<RunArgs>,
  handler: async (args) => {
    const providers = parseProviders(args.provider);
    const calibration = args.calibration !== undefined ? readCalibration(args.calibration) : undefined;
    const warnings: string[] = [];
    const policy = await Pi0FastPolicy.load(args.model, {
      ...(providers !== undefined ? { providers } : {}),
      ...(calibration !== undefined ? { calibration } : {}),
      constrained: args.constrained,
      warn: (message) => warnings.push(message),
    });
    try {
      const m = policy.manifest;
      const images = await readImages(args.image ?? [], m.vision.cameras, m.vision.image_size);
      const state = parseState(args.state, m.state.names);
      const result = await policy.infer({ images, state, instruction: args.task });
      const rows = (values: Float64Array) => Array.from({ length: result.horizon }, (_, t) => Array.from(values.subarray(t * m.actions.names.length, (t + 1) * m.actions.names.length)));
      const t = result.timings;
      const report = {
        model: m.name,
        provider: result.provider,
        prompt_ids: result.promptIds,
        token_ids: result.tokenIds,
        fast_ids: result.fastIds,
        status: result.status,
        detail: result.detail,
        end: result.end,
        action_names: m.actions.names,
        actions: rows(result.actions),
        actions_rad: rows(result.actionsRad),
        timings: {
          vision_ms: round(t.visionMs),
          prompt_ms: round(t.promptMs),
          prefill_ms: round(t.prefillMs),
          decode_steps: t.decodeStepMs.length,
          decode_ms: round(t.decodeStepMs.reduce((a, b) => a + b, 0)),
          fast_decode_ms: round(t.fastDecodeMs),
          total_ms: round(t.totalMs),
        },
      };
      if (args.json) console.log(JSON.stringify(report));
      else {
        for (const warning of warnings) console.log(`note: ${warning}`);
        console.log(`model       ${report.model} (${args.model}), provider ${report.provider}`);
        console.log(`prompt ids  ${report.prompt_ids.join(" ")}`);
        console.log(`tokens      ${report.token_ids.join(" ")}`);
        console.log(`fast ids    ${report.fast_ids.join(" ")}`);
        console.log(`status      ${report.status}${report.detail !== "" ? ` (${report.detail})` : ""}, ended by ${report.end}`);
        console.log(`actions     [${result.horizon}×${m.actions.names.length}] ${m.actions.names.map((name, d) => `${name} (${m.actions.units[d]})`).join(", ")}`);
        report.actions.forEach((row, step) => console.log(`  ${String(step).padStart(3)}  ${row.map((v) => v.toFixed(3).padStart(9)).join(" ")}   rad ${report.actions_rad[step]!.map((v) => v.toFixed(4).padStart(8)).join(" ")}`));
        const tm = report.timings;
        console.log(`timings     vision ${tm.vision_ms} ms, prompt ${tm.prompt_ms} ms, prefill ${tm.prefill_ms} ms, decode ${tm.decode_steps} steps ${tm.decode_ms} ms, fast ${tm.fast_decode_ms} ms, total ${tm.total_ms} ms`);
      }
      if (result.status === "failed") process.exitCode = 1;
    } finally {
      await policy.dispose();
    }
  },
};

export const policyCommand: CommandBody<object, object> = {
  builder: (yargs: Argv) => yargs.command(checkCommand).command(runCommand).demandCommand(1, "Name a policy command: check, run"),
  handler: () => {},
};

/** `--image camera=file` for every camera of the model, decoded to rgb8 at the model's size, in its order. */
async function readImages(values: string[], cameras: readonly string[], size: number): Promise<PolicyImage[]> {
  const files = new Map<string, string>();
  for (const value of values) {
    const equals = value.indexOf("=");
    if (equals <= 0 || equals === value.length - 1) throw new InputError(`--image ${value}: expected <camera>=<image file>; cameras: ${cameras.join(", ")}`);
    const given = value.slice(0, equals);
    const camera = given.startsWith("observation.images.") ? given.slice("observation.images.".length) : given;
    if (!cameras.includes(camera)) throw new InputError(`--image ${value}: the model has no camera '${given}'; its cameras are ${cameras.join(", ")}`);
    if (files.has(camera)) throw new InputError(`--image ${value}: camera '${camera}' given twice`);
    files.set(camera, value.slice(equals + 1));
  }
  const missing = cameras.filter((camera) => !files.has(camera));
  if (missing.length > 0) throw new InputError(`--image: no image for camera(s) ${missing.join(", ")}; give --image <camera>=<png> for each of ${cameras.join(", ")}`);
  return Promise.all(
    cameras.map(async (camera) => {
      const file = files.get(camera)!;
      let data: Buffer;
      try {
        data = readFileSync(file);
      } catch (error) {
        throw new InputError(`--image ${camera}=${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      }
      const format = /\.jpe?g$/i.test(file) ? "jpeg" : "png";
      // Images not at the model's size are resized (stretched, as the observation aggregator does).
      return resizeRgb(await compressedImageToRgb({ format, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }, `--image ${camera}=${file}`), size, size);
    }),
  );
}

function parseState(text: string, names: readonly string[]): number[] {
  const parts = text.split(",").map((part) => part.trim());
  const values = parts.map(Number);
  const bad = parts.findIndex((part, i) => part === "" || !Number.isFinite(values[i]));
  if (bad >= 0) throw new InputError(`--state ${text}: value ${bad + 1} ('${parts[bad]}') is not a number; expected ${names.length} comma-separated numbers (${names.join(", ")})`);
  if (values.length !== names.length) throw new InputError(`--state ${text}: ${values.length} values, the model expects ${names.length} (${names.join(", ")})`);
  return values;
}

function readCalibration(file: string): Calibration {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new InputError(`--calibration ${file}: cannot read it as JSON (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parseCalibration(json, `--calibration ${file}`);
}

function parseProviders(values: string[] | undefined): ProviderName[] | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const names = values.flatMap((value) => value.split(",")).map((value) => value.trim().toLowerCase()).filter((value) => value !== "");
  for (const name of names) if (!(PROVIDERS as readonly string[]).includes(name)) throw new InputError(`--provider ${name}: unknown execution provider; expected ${PROVIDERS.join(", ")}`);
  return names as ProviderName[];
}

function syntheticObservation(policy: Pi0FastPolicy): PolicyInput {
  const { cameras, image_size: size } = policy.manifest.vision;
  return {
    images: cameras.map((_, c) => ({ width: size, height: size, data: Uint8Array.from({ length: size * size * 3 }, (_, i) => (i * 31 + c * 17) & 0xff) })),
    state: policy.manifest.state.names.map(() => 0),
    instruction: "pick up the cube",
  };
}

function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
