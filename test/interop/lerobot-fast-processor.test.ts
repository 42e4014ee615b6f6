/**
 * The FAST tokenizer folder both ways with LeRobot 0.6.1: ours through `AutoProcessor.from_pretrained(folder,
 * trust_remote_code=True)` (what `--policy.action_tokenizer_name` does) against LeRobot's vendored
 * UniversalActionProcessor, and a folder LeRobot's class fits and saves through our loader.
 */
import { mkdtempSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadFastArtifact, writeFastArtifact } from "../../src/fast/artifact.js";
import { trainFastTokenizer } from "../../src/fast/train.js";
import { syntheticChunks } from "../fast/synthetic.js";
import { lerobotEnv, lerobotPython } from "../helpers/system.js";
import { execFileSync } from "node:child_process";
import { HF_HOME } from "./lerobot-fixture.js";

const python = lerobotPython();
const HORIZON = 10;
const DIMS = 6;

/** LeRobot's vendored class, imported from its file without the heavy MolmoAct2 model module it names for a hub token helper. */
const IMPORT_VENDORED = `
import importlib.util, pathlib, sys, types
import lerobot
root = pathlib.Path(lerobot.__file__).parent / "policies" / "molmoact2"
for name in ["lerobot.policies.molmoact2", "lerobot.policies.molmoact2.molmoact2_hf_model"]:
    package = types.ModuleType(name); package.__path__ = []; sys.modules[name] = package
helper = types.ModuleType("lerobot.policies.molmoact2.modeling_molmoact2"); helper._hf_token = lambda: None
sys.modules[helper.__name__] = helper
spec = importlib.util.spec_from_file_location("lerobot.policies.molmoact2.molmoact2_hf_model.action_tokenizer", root / "molmoact2_hf_model" / "action_tokenizer.py")
vendored = importlib.util.module_from_spec(spec); spec.loader.exec_module(vendored)
`;

function runLerobot(code: string, input: unknown): unknown {
  const stdout = execFileSync(python!, ["-c", IMPORT_VENDORED + code], { input: JSON.stringify(input), env: lerobotEnv(HF_HOME), encoding: "utf8", maxBuffer: 1 << 26 });
  return JSON.parse(stdout);
}

const chunks = syntheticChunks(40, HORIZON, DIMS, 5).map((chunk) => Array.from(chunk));

describe.skipIf(python === undefined)("FAST tokenizer folders with LeRobot 0.6.1", () => {
  it("our folder loads through AutoProcessor and encodes and decodes exactly like LeRobot's UniversalActionProcessor", async () => {
    const trained = trainFastTokenizer(syntheticChunks(400, HORIZON, DIMS, 3), { horizon: HORIZON, dims: DIMS, vocabSize: 512 });
    const folder = path.join(mkdtempSync(path.join(os.tmpdir(), "fast-autoprocessor-")), "fast");
    await writeFastArtifact(folder, trained.tokenizer, undefined);
    expect(readdirSync(folder)).toContain("processing_action_tokenizer.py");
    const answer = runLerobot(
      `
import json, numpy as np
from transformers import AutoProcessor, PreTrainedTokenizerFast
request = json.load(sys.stdin)
ours = AutoProcessor.from_pretrained(request["folder"], trust_remote_code=True)
config = json.load(open(request["folder"] + "/processor_config.json"))
reference = vendored.UniversalActionProcessor(PreTrainedTokenizerFast.from_pretrained(request["folder"]), scale=config["scale"], vocab_size=config["vocab_size"],
    min_token=config["min_token"], action_dim=config["action_dim"], time_horizon=config["time_horizon"])
chunks = np.array(request["chunks"]).reshape(-1, ${HORIZON}, ${DIMS})
ours_tokens = [ours(c)[0] for c in chunks]
reference_tokens = [reference(c)[0] for c in chunks]
bad = [ours_tokens[0][:-1]]
import logging; logging.disable(logging.WARNING)  # both warn on the malformed sequence
print(json.dumps({"class": type(ours).__name__, "module": type(ours).__module__, "shape": [ours.time_horizon, ours.action_dim],
    "ours": ours_tokens, "reference": reference_tokens,
    "ours_decoded": ours.decode(ours_tokens).tolist(), "reference_decoded": reference.decode(reference_tokens).tolist(),
    "ours_bad": ours.decode(bad).tolist(), "reference_bad": reference.decode(bad).tolist()}))
`,
      { folder, chunks },
    ) as Record<string, unknown>;
    expect(answer.class).toBe("UniversalActionProcessor");
    expect(answer.module).toMatch(/processing_action_tokenizer$/);
    expect(answer.shape).toEqual([HORIZON, DIMS]);
    expect(answer.ours).toEqual(answer.reference);
    expect(answer.ours).toEqual(chunks.map((chunk) => trained.tokenizer.encode(chunk, HORIZON, DIMS).tokenIds));
    expect(answer.ours_decoded).toEqual(answer.reference_decoded);
    // A malformed sequence: all zeros in both (the reference's behaviour, which our runtime never relies on).
    expect(answer.ours_bad).toEqual(answer.reference_bad);
    expect((answer.ours_bad as number[][][]).flat(2).every((value) => value === 0)).toBe(true);
  });

  it("a folder LeRobot's UniversalActionProcessor fits and saves loads in ours and encodes and decodes alike", async () => {
    const folder = path.join(mkdtempSync(path.join(os.tmpdir(), "fast-lerobot-")), "fast");
    const answer = runLerobot(
      `
import json, numpy as np
request = json.load(sys.stdin)
training = np.array(request["training"]).reshape(-1, ${HORIZON}, ${DIMS})
processor = vendored.UniversalActionProcessor.fit(list(training), scale=10, vocab_size=512, time_horizon=${HORIZON}, action_dim=${DIMS})
processor.save_pretrained(request["folder"])
chunks = np.array(request["chunks"]).reshape(-1, ${HORIZON}, ${DIMS})
tokens = [processor(c)[0] for c in chunks]
print(json.dumps({"tokens": tokens, "decoded": processor.decode(tokens).tolist()}))
`,
      { folder, chunks, training: syntheticChunks(400, HORIZON, DIMS, 9).map((chunk) => Array.from(chunk)) },
    ) as { tokens: number[][]; decoded: number[][][] };
    const ours = (await loadFastArtifact(folder)).tokenizer;
    expect(chunks.map((chunk) => ours.encode(chunk, HORIZON, DIMS).tokenIds)).toEqual(answer.tokens);
    answer.tokens.forEach((tokens, i) => {
      const decoded = ours.decode(tokens, HORIZON, DIMS);
      expect(decoded.status).toBe("ok");
      const expected = answer.decoded[i]!.flat();
      expect(Math.max(...Array.from(decoded.actions, (value, j) => Math.abs(value - expected[j]!)))).toBeLessThan(1e-12);
    });
  });
});
