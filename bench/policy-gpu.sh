#!/usr/bin/env bash
# Real-size policy latency on a GPU machine: builds the paligemma-3b test model (fp16, random weights,
# ~5 GB) once into $1 (default: a temporary folder) and measures it on WebGPU, and on CUDA where
# onnxruntime-node's CUDA provider is installed. Figures: ms per decode step against the memory-bandwidth
# bound (BANDWIDTH_GBS, default 4800 = H200), prefill ms, chunk latency for 10 and 50 action tokens.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-$(mktemp -d -t pi0fast-3b-XXXXXX)}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d -t pi0fast-xdg-XXXXXX)}"
if [ ! -f "$out/pi0fast.json" ]; then
  npx tsx src/cli/bin.ts make-test-model --out "$out" --preset paligemma-3b --dtype fp16
fi
npx tsx src/cli/bin.ts policy check --model "$out" --provider cuda,webgpu
npm run bench -- policy --gpu --model "$out" --provider "${PROVIDERS:-cuda,webgpu}" --bandwidth-gbs "${BANDWIDTH_GBS:-4800}" --prefixes 800
