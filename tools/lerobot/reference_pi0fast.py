"""LeRobot 0.6.1's own inference on one observation: the reference the parity tests compare the runtime with.

    python tools/lerobot/reference_pi0fast.py --checkpoint <dir> --text-tokenizer <dir> --action-tokenizer <dir>
        --observation <dir> [--tiny] > reference.json

Loads the checkpoint with `PI0FastPolicy.from_pretrained` and its saved pre/post processors, runs the observation
(<dir>/observation.json: cameras, state, task; <dir>/<camera>.png) through them and `predict_action_chunk`, and
prints one JSON object: `prompt_ids` (the prefix's token ids after the images: the tokenized prompt without its
pads, then the BOS LeRobot appends), `token_ids` (greedy, up to the first "|"), `actions` ([horizon][dims], the
dataset's units), `select_action` (the first action `select_action` returns), `image_features`
([cameras][tokens][width], LeRobot's `embed_image`) and `prefill_logits` (the full-vocabulary logits of the last
prefix position). The checkpoint names its tokenizers as hub ids; offline, the local folders given replace them
in the policy config and the processor steps. `--tiny` injects the sizes of tiny_pi0fast.py before loading.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--text-tokenizer", required=True)
    parser.add_argument("--action-tokenizer", required=True)
    parser.add_argument("--observation", required=True)
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args()

    if args.tiny:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import tiny_pi0fast

        tiny_pi0fast.inject_tiny_sizes(tiny_pi0fast.TINY_GEMMA, tiny_pi0fast.TINY_SIGLIP, tiny_pi0fast.TEXT_VOCAB)

    from PIL import Image

    from lerobot.configs import PreTrainedConfig
    from lerobot.policies.pi0_fast.modeling_pi0_fast import PI0FastPolicy
    from lerobot.processor import PolicyProcessorPipeline
    from lerobot.processor.converters import policy_action_to_transition, transition_to_policy_action

    checkpoint = Path(args.checkpoint)
    observation_dir = Path(args.observation)
    observation = json.loads((observation_dir / "observation.json").read_text())
    # from_pretrained prints a banner on stdout: keep stdout for the JSON.
    stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        text_tokenizer, action_tokenizer = str(Path(args.text_tokenizer).resolve()), str(Path(args.action_tokenizer).resolve())
        config = PreTrainedConfig.from_pretrained(checkpoint)
        config.text_tokenizer_name, config.action_tokenizer_name = text_tokenizer, action_tokenizer
        policy = PI0FastPolicy.from_pretrained(checkpoint, config=config)
        overrides = {"tokenizer_processor": {"tokenizer_name": text_tokenizer},
                     "action_tokenizer_processor": {"action_tokenizer_name": action_tokenizer, "paligemma_tokenizer_name": text_tokenizer}}
        preprocessor = PolicyProcessorPipeline.from_pretrained(checkpoint, config_filename="policy_preprocessor.json", overrides=overrides)
        postprocessor = PolicyProcessorPipeline.from_pretrained(checkpoint, config_filename="policy_postprocessor.json",
                                                                to_transition=policy_action_to_transition, to_output=transition_to_policy_action)
    finally:
        sys.stdout = stdout
    policy.eval()

    frame = {}
    for camera in observation["cameras"]:
        rgb = np.array(Image.open(observation_dir / f"{camera}.png").convert("RGB"))
        frame[f"observation.images.{camera}"] = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
    frame["observation.state"] = torch.tensor(observation["state"], dtype=torch.float32)
    frame["task"] = observation["task"]
    batch = preprocessor(frame)

    model = policy.model
    tokens = batch["observation.language.tokens"][0]
    mask = batch["observation.language.attention_mask"][0].bool()
    bos = policy._paligemma_tokenizer.bos_token_id
    prompt_ids = tokens[mask].tolist() + [bos]

    with torch.no_grad():
        images, image_masks = policy._preprocess_images(batch)
        image_features = [model.paligemma_with_expert.embed_image(image)[0].tolist() for image in images]
        generated = model.sample_actions_fast_kv_cache(images, image_masks, batch["observation.language.tokens"], batch["observation.language.attention_mask"],
                                                       max_decoding_steps=policy.config.max_decoding_steps, temperature=0.0)[0].tolist()
        pipe = policy._paligemma_tokenizer.convert_tokens_to_ids("|")
        token_ids = generated[: generated.index(pipe) + 1] if pipe in generated else generated

        # The prefill as sample_actions_fast_kv_cache runs it, for the logits of its last position (the BOS).
        tokens_in = torch.cat([batch["observation.language.tokens"], torch.tensor([[bos]])], dim=1)
        masks_in = torch.cat([batch["observation.language.attention_mask"].bool(), torch.ones((1, 1), dtype=torch.bool)], dim=1)
        embeddings, pad_masks, att_masks, _, _ = model.embed_prefix_fast(images, image_masks, tokens_in, masks_in)
        from lerobot.policies.common.vla_utils import prepare_attention_masks_4d

        (prefix_out, _), _ = model.paligemma_with_expert.forward(
            attention_mask=prepare_attention_masks_4d(att_masks, dtype=embeddings.dtype), position_ids=torch.cumsum(pad_masks, dim=1) - 1,
            past_key_values=None, inputs_embeds=[embeddings, None], use_cache=False, adarms_cond=[None, None])
        prefill_logits = model.paligemma_with_expert.paligemma.lm_head(prefix_out[:, -1])[0].tolist()

        chunk = policy.predict_action_chunk(batch)
        actions = postprocessor(chunk)[0].tolist()
        policy.reset()
        first = postprocessor(policy.select_action(batch))[0].tolist()

    json.dump({"prompt_ids": prompt_ids, "token_ids": token_ids, "actions": actions, "select_action": first,
               "image_features": image_features, "prefill_logits": prefill_logits}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
