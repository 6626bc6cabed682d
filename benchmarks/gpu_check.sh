#!/usr/bin/env bash
# The CUDA checks in one command (under 8 minutes on one GPU): the CUDA tests, then the layer, contraction and
# training-step benchmarks on the GPU in float32 and bf16, each table written into one markdown file.
#
#   bash benchmarks/gpu_check.sh [RESULTS.md]      # default: benchmarks/results/gpu.md
#
# It installs nothing: run it in an environment where `python -c "import torch"` finds a CUDA build of torch
# and this package's requirements (peft, torchvision and timm add the PEFT and real-backbone rows; without
# them those rows are left out and the script says so). Copy the tables into docs/results.md.
set -uo pipefail
cd "$(dirname "$0")/.."
RESULTS="${1:-benchmarks/results/gpu.md}"
mkdir -p "$(dirname "$RESULTS")"
export PYTHONUNBUFFERED=1 METALORA_CACHE_DIR="${METALORA_CACHE_DIR:-$(mktemp -d)}"
failed=0
step() {  # step LABEL SECONDS COMMAND...: run one check with a time limit, note a failure and go on
    local label="$1" limit="$2"
    shift 2
    echo "== $label"
    local start=$SECONDS
    if ! timeout "$limit" "$@"; then
        echo "!! $label failed or ran past ${limit}s"
        failed=1
    fi
    echo "== $label: $((SECONDS - start)) s"
}

python - <<'EOF' || exit 2
import torch
assert torch.cuda.is_available(), "no CUDA GPU is visible to torch: this script needs one"
p = torch.cuda.get_device_properties(0)
print(f"GPU: {p.name}, {p.total_memory / 2**30:.0f} GiB, torch {torch.__version__}, CUDA {torch.version.cuda}")
EOF
python -c "import peft" 2>/dev/null || echo "peft is not installed: the PEFT LoRA rows are left out"
python -c "import torchvision, timm" 2>/dev/null || echo "torchvision / timm missing: the real-backbone rows fail"

step "CUDA tests" 150 python -m pytest -q -p no:cacheprovider tests/test_cuda.py \
    "tests/test_training_loop.py::test_fit_on_cuda_with_bf16"
for dtype in fp32 bf16; do
    step "layers ($dtype)" 60 python benchmarks/bench_layers.py --device cuda --dtype "$dtype" --quick \
        --write-results "$RESULTS"
    step "contractions ($dtype)" 60 python benchmarks/bench_layers.py --contractions --device cuda \
        --dtype "$dtype" --quick --write-results "$RESULTS"
    step "training step, resnet18 and vit_tiny ($dtype)" 100 python benchmarks/bench_zoo.py --device cuda \
        --dtype "$dtype" --steps 10 --write-results "$RESULTS"
    step "inference, depthwise nets ($dtype)" 50 python benchmarks/bench_zoo.py --inference --device cuda \
        --dtype "$dtype" --steps 10 --write-results "$RESULTS"
done
echo "tables: $RESULTS"
exit $failed
