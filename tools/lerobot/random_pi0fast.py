"""A full-size LeRobot `pi0_fast` checkpoint with random weights, for measuring the exporter and the runtime at
PaliGemma-3B sizes without downloading one.

    python tools/lerobot/random_pi0fast.py --like <tiny_pi0fast.py output dir> --out <dir> [--variant gemma_2b]

Writes <dir>/checkpoint: the tiny checkpoint's config.json and processor files with the variant's sizes (224×224
images), and a model.safetensors in bfloat16 (what `lerobot-train --policy.dtype=bfloat16` saves) holding every
tensor LeRobot's PI0FastPolicy has at that variant — the exporter's list, which the tiny checkpoint checks
against LeRobot's own — streamed one tensor at a time, so memory stays at one tensor; and <dir>/text_tokenizer with
PaliGemma's 257,152-token vocabulary size.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import export_pi0fast  # noqa: E402
import tiny_pi0fast  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--like", required=True, help="A tiny_pi0fast.py output folder (its checkpoint's config and processors are reused)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--variant", choices=sorted(export_pi0fast.VARIANTS), default="gemma_2b")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    like, out = Path(args.like) / "checkpoint", Path(args.out)
    dims = export_pi0fast.VARIANTS[args.variant]
    checkpoint = out / "checkpoint"
    checkpoint.mkdir(parents=True, exist_ok=True)
    for file in like.iterdir():
        if file.name != "model.safetensors":
            shutil.copyfile(file, checkpoint / file.name)
    config = json.loads((like / "config.json").read_text())
    size = dims["image_size"]
    config.update(paligemma_variant=args.variant, dtype="bfloat16", image_resolution=[size, size])
    for key, feature in config["input_features"].items():
        if feature["type"] == "VISUAL":
            feature["shape"] = [3, size, size]
    (checkpoint / "config.json").write_text(json.dumps(config, indent=4))
    tiny_pi0fast.write_text_tokenizer(out / "text_tokenizer", dims["vocab_size"])

    shapes = export_pi0fast.expected_shapes(dims)
    header, offset = {}, 0
    for key in sorted(shapes):
        length = int(np.prod(shapes[key])) * 2
        header[key] = {"dtype": "BF16", "shape": list(shapes[key]), "data_offsets": [offset, offset + length]}
        offset += length
    header_bytes = json.dumps(header).encode()
    header_bytes += b" " * ((-len(header_bytes)) % 8)
    generator = torch.Generator().manual_seed(args.seed)
    with open(checkpoint / "model.safetensors", "wb") as stream:
        stream.write(len(header_bytes).to_bytes(8, "little"))
        stream.write(header_bytes)
        for key in sorted(shapes):
            shape = shapes[key]
            # Norm weights near 0 (LeRobot's RMSNorm scales by 1 + w), the rest like an initialised network.
            std = 0.02 if len(shape) > 1 else 0.1
            tensor = torch.randn(shape, generator=generator, dtype=torch.float32).mul_(std).to(torch.bfloat16)
            stream.write(tensor.view(torch.int16).numpy().tobytes())
    print(json.dumps({"checkpoint": str(checkpoint), "tensors": len(shapes), "bytes": offset}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
