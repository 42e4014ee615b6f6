"""A tiny LeRobot `pi0_fast` checkpoint built with LeRobot 0.6.1's own classes, for the parity tests.

    python tools/lerobot/tiny_pi0fast.py --action-tokenizer <FAST folder> --out <dir> [--cameras 1|2] [--steps 400]

Writes <dir>/text_tokenizer (a small Gemma-style tokenizer: BOS/EOS/pad/unk, byte fallback, "▁" for spaces,
"Action" one token, and the tail of the vocabulary that the FAST ids map onto), <dir>/checkpoint (what
`lerobot-train` saves under pretrained_model/: config.json, model.safetensors, the pre/post processors and their
normalizer stats) and <dir>/observation (one PNG per camera + observation.json: state, task) — an observation the
policy was trained on, so greedy decoding emits a valid "Action: … |".

LeRobot hard-codes PaliGemma's sizes; the tiny ones are injected at construction: `get_gemma_config` returns the
tiny Gemma, and the vocabulary, SigLIP and projector sizes LeRobot writes into the PaliGemma config are replaced
just before the model is built from it. Offline: HF_HUB_OFFLINE=1 and a writable HF_HOME (the FAST processor's code is copied
there).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

TINY_GEMMA = dict(width=64, depth=2, mlp_dim=128, num_heads=4, num_kv_heads=1, head_dim=16)
TINY_SIGLIP = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, patch_size=8, image_size=32)
TEXT_VOCAB = 1024
JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
CAMERAS = ["front", "wrist"]
HORIZON = 10
HUB_TEXT_TOKENIZER = "google/paligemma-3b-pt-224"
HUB_ACTION_TOKENIZER = "lerobot/fast-action-tokenizer"


def write_text_tokenizer(out: Path, vocab_size: int) -> None:
    """A Gemma-style tokenizer.json + tokenizer_config.json (GemmaTokenizer: BOS added, EOS not)."""
    specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    vocab: dict[str, int] = {}
    for token in specials:
        vocab[token] = len(vocab)
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    for char in [chr(c) for c in range(33, 127)] + ["▁"]:
        vocab.setdefault(char, len(vocab))
    merges = []
    for word in ["Action", "Task", "State", "▁pick", "▁up", "▁the", "▁red", "▁cube", "▁place", "▁it"]:
        for i in range(1, len(word)):
            merges.append([word[:i], word[i]])
            vocab.setdefault(word[: i + 1], len(vocab))
    # Stand-ins for PaliGemma's <loc…>/<seg…> tokens, onto which the FAST ids map.
    while len(vocab) < vocab_size:
        vocab[f"<loc{len(vocab):04d}>"] = len(vocab)
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
            for i, t in enumerate(specials)
        ],
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}},
        },
        "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None, "end_of_word_suffix": None,
            "fuse_unk": True, "byte_fallback": True, "ignore_merges": False, "vocab": vocab, "merges": merges,
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False))
    config = {
        "tokenizer_class": "GemmaTokenizer", "add_bos_token": True, "add_eos_token": False, "bos_token": "<bos>",
        "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>", "model_max_length": 1000000, "padding_side": "right",
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2))


def inject_tiny_sizes(gemma: dict, siglip: dict, vocab_size: int) -> None:
    """Makes LeRobot's PI0FastPaliGemma build the given sizes instead of PaliGemma-3B's."""
    import lerobot.policies.pi0_fast.modeling_pi0_fast as pi0_fast

    paligemma_class = pi0_fast.PaliGemmaForConditionalGenerationWithPiGemma

    def tiny_paligemma(config):
        # LeRobot has just written the 3B vocabulary, SigLIP and projector sizes into `config`: replace them.
        config._vocab_size = vocab_size  # noqa: SLF001
        config.image_token_index = vocab_size
        config.text_config.vocab_size = vocab_size
        for name, value in siglip.items():
            setattr(config.vision_config, name, value)
        config.vision_config.projection_dim = gemma["width"]
        config.projection_dim = gemma["width"]
        config.text_config.num_image_tokens = (siglip["image_size"] // siglip["patch_size"]) ** 2
        return paligemma_class(config=config)

    pi0_fast.PaliGemmaForConditionalGenerationWithPiGemma = tiny_paligemma
    pi0_fast.get_gemma_config = lambda variant: pi0_fast.GemmaConfig(**gemma)


def smooth_chunk(rng: np.random.Generator, start: np.ndarray, std: np.ndarray) -> np.ndarray:
    """A [HORIZON, 6] joint trajectory in degrees (gripper 0..100) from `start`, within about ±0.9 std of the mean:
    the range the FAST tokenizer was trained for (a coefficient outside its alphabet would be dropped)."""
    t = np.linspace(0, 1, HORIZON)[:, None]
    velocity = rng.uniform(-0.3, 0.3, size=(1, len(JOINTS))) * std
    wave = rng.uniform(-0.1, 0.1, size=(1, len(JOINTS))) * std * np.sin(2 * np.pi * t + rng.uniform(0, 2 * np.pi, size=(1, len(JOINTS))))
    return (start[None, :] + velocity * t + wave).astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--action-tokenizer", required=True, help="FAST tokenizer folder (AutoProcessor-loadable)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--cameras", type=int, choices=[1, 2], default=1)
    parser.add_argument("--steps", type=int, default=400, help="Most training steps (stops earlier once greedy decoding reproduces every chunk)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from PIL import Image

    from lerobot.configs import FeatureType, PolicyFeature
    from lerobot.policies.pi0_fast.configuration_pi0_fast import PI0FastConfig
    from lerobot.policies.pi0_fast.modeling_pi0_fast import PI0FastPolicy
    from lerobot.policies.pi0_fast.processor_pi0_fast import make_pi0_fast_pre_post_processors

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    text_tokenizer = out / "text_tokenizer"
    write_text_tokenizer(text_tokenizer, TEXT_VOCAB)
    inject_tiny_sizes(TINY_GEMMA, TINY_SIGLIP, TEXT_VOCAB)

    size = TINY_SIGLIP["image_size"]
    cameras = CAMERAS[: args.cameras]
    dims = len(JOINTS)
    config = PI0FastConfig(
        input_features={
            **{f"observation.images.{c}": PolicyFeature(type=FeatureType.VISUAL, shape=(3, size, size)) for c in cameras},
            "observation.state": PolicyFeature(type=FeatureType.STATE, shape=(dims,)),
        },
        output_features={"action": PolicyFeature(type=FeatureType.ACTION, shape=(dims,))},
        chunk_size=HORIZON,
        n_action_steps=HORIZON,
        image_resolution=(size, size),
        text_tokenizer_name=str(text_tokenizer.resolve()),
        action_tokenizer_name=str(Path(args.action_tokenizer).resolve()),
        action_feature_names=[f"{j}.pos" for j in JOINTS],
        device="cpu",
        push_to_hub=False,
    )
    policy = PI0FastPolicy(config)
    stats = {
        "observation.state": {"mean": torch.tensor([0, -20, 30, 10, 0, 30.0]), "std": torch.tensor([40, 30, 30, 30, 50, 20.0])},
        "action": {"mean": torch.tensor([0, -20, 30, 10, 0, 30.0]), "std": torch.tensor([40, 30, 30, 30, 50, 20.0])},
    }
    preprocessor, postprocessor = make_pi0_fast_pre_post_processors(config, dataset_stats=stats)

    # Two observations the policy learns by heart: distinct images, states and tasks.
    samples = []
    for index, task in enumerate(["pick up the red cube", "Place_it\nleft"]):
        images = {}
        for c in cameras:
            y, x = np.mgrid[0:size, 0:size] / size
            phase = rng.uniform(0, 2 * np.pi, size=3)
            rgb = 0.5 + 0.45 * np.sin(2 * np.pi * (x[..., None] * (index + 1) + y[..., None] * 2) + phase)
            images[c] = (rgb * 255).round().astype(np.uint8)
        std = stats["observation.state"]["std"].numpy()
        state = (stats["observation.state"]["mean"].numpy() + rng.uniform(-0.5, 0.5, dims) * std).astype(np.float32)
        samples.append({"images": images, "state": state, "task": task, "action": smooth_chunk(rng, state, std)})

    def frame(sample, with_action: bool):
        batch = {f"observation.images.{c}": torch.from_numpy(img).permute(2, 0, 1).float() / 255 for c, img in sample["images"].items()}
        batch["observation.state"] = torch.from_numpy(sample["state"])
        batch["task"] = sample["task"]
        if with_action:
            # A dataloader's action chunk is [batch, horizon, dims]; the batch step adds it to observations only.
            batch["action"] = torch.from_numpy(sample["action"])[None]
        return batch

    train_batches = [preprocessor(frame(s, True)) for s in samples]
    for batch in train_batches:
        fast_ids = [int(i) for i in batch["action.tokens"][0][4 : int(batch["action.token_mask"][0].sum()) - 2]]
        fast_ids = [policy._paligemma_tokenizer.vocab_size - 1 - config.fast_skip_tokens - i for i in fast_ids]
        coefficients = len(policy.action_tokenizer.bpe_tokenizer.decode(fast_ids))
        if coefficients != HORIZON * dims:
            print(f"tiny_pi0fast.py: the FAST tokenizer encodes a training chunk to {coefficients} coefficients, not {HORIZON * dims}", file=sys.stderr)
            return 1
    merged = {}
    for key, value in train_batches[0].items():
        merged[key] = torch.cat([b[key] for b in train_batches]) if isinstance(value, torch.Tensor) else [b[key] for b in train_batches]

    optimizer = torch.optim.AdamW(policy.parameters(), lr=3e-3, weight_decay=0.0)
    inference_batches = [preprocessor(frame(s, False)) for s in samples]

    def decodes_every_chunk() -> bool:
        policy.eval()
        for sample, batch in zip(samples, inference_batches):
            tokens = policy.model.sample_actions_fast_kv_cache(*policy._preprocess_images(batch), batch["observation.language.tokens"],
                                                               batch["observation.language.attention_mask"], max_decoding_steps=config.max_decoding_steps)
            target = preprocessor(frame(sample, True))
            expected = target["action.tokens"][0]
            length = int(target["action.token_mask"][0].sum())
            # The target after BOS: "Action: ", the FAST tokens, "|" (the EOS after it is never generated).
            if tokens[0, : length - 2].tolist() != expected[1 : length - 1].tolist():
                return False
        return True

    loss = float("nan")
    step = 0
    for step in range(args.steps):
        policy.train()
        loss, _ = policy.forward(merged)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 50 == 49:
            print(f"step {step + 1}: loss {loss.item():.4f}", file=sys.stderr)
            if decodes_every_chunk():
                break
    if not decodes_every_chunk():
        print(f"tiny_pi0fast.py: after {args.steps} steps (loss {loss.item():.4f}) greedy decoding does not reproduce the training chunks", file=sys.stderr)
        return 1

    # As lerobot-train saves them: the tokenizers named by their hub ids (the tests give local folders instead).
    policy.config.text_tokenizer_name, policy.config.action_tokenizer_name = HUB_TEXT_TOKENIZER, HUB_ACTION_TOKENIZER
    for processor_step in preprocessor.steps:
        if hasattr(processor_step, "tokenizer_name"):
            processor_step.tokenizer_name = HUB_TEXT_TOKENIZER
        if hasattr(processor_step, "action_tokenizer_name"):
            processor_step.action_tokenizer_name = HUB_ACTION_TOKENIZER
    checkpoint = out / "checkpoint"
    policy.save_pretrained(checkpoint)
    preprocessor.save_pretrained(checkpoint)
    postprocessor.save_pretrained(checkpoint)

    observation = out / "observation"
    observation.mkdir(parents=True, exist_ok=True)
    sample = samples[0]
    for c, img in sample["images"].items():
        Image.fromarray(img).save(observation / f"{c}.png")
    (observation / "observation.json").write_text(json.dumps({
        "cameras": cameras, "state": [float(v) for v in sample["state"]], "task": sample["task"],
        "training_steps": step + 1, "loss": loss.item(),
    }, indent=2))
    print(json.dumps({"checkpoint": str(checkpoint), "steps": step + 1, "loss": loss.item()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
