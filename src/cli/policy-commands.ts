/**
 * `pi0fast make-test-model` (a contract-conforming model with seeded random weights) and
 * `pi0fast policy check` (load, validate, one inference on a synthetic observation, stage timings).
 */
import type { Argv, CommandModule } from "yargs";
import type { CommandBody } from "./command-body.js";
import { InputError } from "../errors.js";
import { Pi0FastPolicy, type PolicyInput } from "../policy/policy.js";
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

export const policyCommand: CommandBody<object, object> = {
  builder: (yargs: Argv) => yargs.command(checkCommand).demandCommand(1, "Name a policy command: check"),
  handler: () => {},
};

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
