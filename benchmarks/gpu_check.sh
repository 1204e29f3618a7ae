#!/usr/bin/env bash
# The CUDA paths in one run, from a fresh clone: the CUDA-marked tests, the reference answers and the
# stubs graded with --device cuda (memory checks read the caching allocator's peak there), the timing
# A/A test and reference verdicts of the seed exercises on CUDA (events, L2 flush), and the Ray
# backend with num_gpus. Prints one summary at the end; everything within about 8 minutes.
#
#     bash benchmarks/gpu_check.sh            # on a machine with an NVIDIA GPU
#     bash benchmarks/gpu_check.sh            # on a CPU machine: says what it skipped, checks the rest runs
#
# It uses a python3 that already has torch (a GPU machine's image) with this checkout on PYTHONPATH,
# and otherwise makes .venv-gpu with the pinned CPU build. Outputs land in gpu-check-out/ (or $OUT).
set -u
cd "$(dirname "$0")/.."
START=$(date +%s)
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
SUMMARY=()
note() { SUMMARY+=("$1"); echo "== $1"; }
elapsed() { echo $(( $(date +%s) - START )); }

if python3 -c "import torch, pytest, typer, rich" >/dev/null 2>&1; then
  PY=python3
else
  [ -x .venv-gpu/bin/python ] || { python3 -m venv .venv-gpu && .venv-gpu/bin/pip install -q -c constraints.txt -e '.[test]'; }
  PY=.venv-gpu/bin/python
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
GRADE=("$PY" -m grader)
CUDA=$("$PY" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'devices', torch.cuda.device_count(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
if [ "$CUDA" = 1 ]; then DEVICE=cuda; else DEVICE=cpu; note "no CUDA device: the CUDA steps below run on the CPU or are skipped"; fi

# 1. The CUDA-marked tests (they skip themselves without a GPU).
timeout 150 "$PY" -m pytest -q -p no:cacheprovider -m cuda tests/ >"$OUT/cuda-tests.txt" 2>&1
note "cuda-marked tests: $(tail -n 1 "$OUT/cuda-tests.txt") ($(elapsed) s)"

# 2. Reference answers and stubs graded on the device (timing off: step 3 times); memory checks run.
timeout 240 "${GRADE[@]}" -s solutions --device "$DEVICE" --no-timing --json "$OUT/solutions.json" >"$OUT/solutions.txt" 2>&1
timeout 60 "${GRADE[@]}" --device "$DEVICE" --no-timing --json "$OUT/stubs.json" >"$OUT/stubs.txt" 2>&1
"$PY" - "$OUT" <<'PY' >"$OUT/grading.txt"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for name in ("solutions", "stubs"):
    try:
        d = json.loads((out / f"{name}.json").read_text())
    except (OSError, ValueError):
        print(f"{name}: no report (see {name}.txt)"); continue
    short = [e["id"] for e in d["exercises"] if e["score"] != e["max_score"]] if name == "solutions" else \
        [e["id"] for e in d["exercises"] if e["score"]]
    print(f"{name} on {d['device']}: {d['score']:g}/{d['max_score']:g} in {d['duration_s']:.0f} s;",
          ("short of full marks: " if name == "solutions" else "earning points: ") + (", ".join(short) or "none"))
    for e in d["exercises"]:
        for c in e["checks"]:
            if name == "solutions" and c["status"] not in ("passed", "skipped"):
                print(f"  {e['id']}.{c['name']}: {c['status']}: {c['message'][:160]}")
            if c.get("memory") and c["memory"].get("allocator_bytes") is not None:
                m = c["memory"]
                print(f"  memory {e['id']}.{c['name']}: peak {m['peak_bytes'] / 2**20:.1f} MiB (allocator "
                      f"{m['allocator_bytes'] / 2**20:.1f}, tracked {m['tracked_bytes'] / 2**20:.1f}) "
                      f"budget {m['budget_bytes'] / 2**20:.0f} MiB")
PY
while IFS= read -r line; do case "$line" in solutions*|stubs*) note "$line";; esac; done <"$OUT/grading.txt"
note "grading done ($(elapsed) s; details in $OUT/grading.txt)"

# 3. Timing on the device: the A/A test and the reference answers' verdicts of the seed exercises.
if [ "$CUDA" = 1 ]; then
  timeout 200 "$PY" benchmarks/timing.py --device cuda -r 2 >"$OUT/timing.txt" 2>&1
  note "timing A/A and reference verdicts on cuda: see $OUT/timing.txt ($(elapsed) s)"
else
  note "timing on CUDA: skipped (no device)"
fi

# 4. The Ray backend with num_gpus=1 per actor.
if "$PY" -c "import ray" >/dev/null 2>&1; then
  rm -rf "$OUT/class" "$OUT/ray-out"; mkdir -p "$OUT/class/ada" "$OUT/class/bob"
  cp -r solutions/sigmoid "$OUT/class/ada/"; cp -r exercises/sigmoid "$OUT/class/bob/"
  timeout 120 "${GRADE[@]}" batch "$OUT/class" --out "$OUT/ray-out" --backend ray --device "$DEVICE" -e sigmoid \
    --no-timing --workers 1 >"$OUT/ray.txt" 2>&1
  note "ray backend on $DEVICE: exit $? ($(tail -n 1 "$OUT/ray.txt" | cut -c1-100))"
else
  note "ray backend: skipped (ray is not installed here)"
fi
note "total $(elapsed) s"
echo; echo "Summary"; for line in "${SUMMARY[@]}"; do echo "  $line"; done
