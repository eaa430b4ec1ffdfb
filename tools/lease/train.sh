#!/bin/bash
# Fine-tunes a COCOLA model on a GPU machine lent for a fixed time, in one
# command: renders the training MIDI there (the machine reaches no registry
# and takes little luggage), trains with a time budget so that the cosine
# still ends at a learning rate of 0, exports, and leaves the model, the
# run's record and the log in $OUT.
#
#   tools/lease/train.sh STAGE SECONDS [TRAIN ARGS...]
#
# STAGE is a folder made by tools/lease/stage.sh: the stripped trainer
# (built with --features cuda) and renderer, midi.tar.xz (the corpus's
# train and validation MIDI), fonts/*.sf2.xz and samples/ (sampled
# instruments; may be empty). SECONDS is the whole command's wall-clock
# limit; rendering gets RENDER_S (default 170 s) of it, export and copying
# keep EXPORT_S (default 110 s), training gets the rest. Extra arguments
# are the recipe given to `cocola-trainer train` (default below: fine-tune
# with hard negatives); MODEL_VERSION (required: checked before anything
# runs, so a lease is not spent on a model with a wrong version),
# DESCRIPTION and TRAINING_DATA go to the export.
# Without a GPU it runs on the CPU: rehearse it locally with a short limit.
set -u
: "${MODEL_VERSION:?set MODEL_VERSION to the version the exported model gets, e.g. MODEL_VERSION=0.15.0}"
STAGE=$(realpath "$1")
LIMIT=$2
shift 2
RECIPE=("$@")
[ ${#RECIPE[@]} -gt 0 ] || RECIPE=(--lr 1e-4 --lr-schedule cosine --warmup-steps 50 --masks per-batch
    --hard-negatives 1.0 --checkpoint-every 500 --seed 31)
T0=$(date +%s)
W=${WORK:-/tmp/cocola-lease}
OUT=${OUT:-$W/out}
RENDER_S=${RENDER_S:-170}
EXPORT_S=${EXPORT_S:-110}
mkdir -p "$W" "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
left() { echo $((T0 + LIMIT - $(date +%s))); }
say() { echo "[$(($(date +%s) - T0)) s] $*"; }

say "start on $(nproc) cores; $(nvidia-smi -L 2>/dev/null || echo 'no GPU')"
# The machine's own libtorch (a PyTorch install) and the CUDA libraries
# its wheels bring.
if python3 -c "import torch" 2>/dev/null; then
    libs=$(python3 - <<'PY'
import os, site, torch
dirs = [os.path.join(os.path.dirname(torch.__file__), "lib")]
for sp in site.getsitepackages():
    for root, _, files in os.walk(os.path.join(sp, "nvidia")):
        if any(f.startswith("lib") and ".so" in f for f in files):
            dirs.append(root)
print(":".join(dirs))
PY
)
    export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
# Python unpacks: a bare machine may lack xz.
unxz_to() { python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" "$1" "$2"; }
BIN=$W/bin
mkdir -p "$BIN" "$W/fonts" "$W/midi"
for b in cocola-trainer cocola-render; do
    if [ -f "$STAGE/$b.xz" ]; then unxz_to "$STAGE/$b.xz" "$BIN/$b"; else cp "$STAGE/$b" "$BIN/$b"; fi
    chmod +x "$BIN/$b"
done
for f in "$STAGE"/fonts/*.sf2.xz; do unxz_to "$f" "$W/fonts/$(basename "$f" .xz)"; done
python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$STAGE/midi.tar.xz" "$W/midi"
"$BIN/cocola-trainer" doctor || { say "the trainer does not run here"; exit 1; }

# --- render: the training recipe of `cargo xtask corpus`, minus the fonts
# and samples that do not travel. Validation first (the run needs it), then
# every training source at once on a shuffled list, until the deadline.
FONTS=()
for f in "$W"/fonts/*.sf2; do FONTS+=(--soundfont "$f"); done
common=(--seed 0 --samples "$STAGE/samples" "${FONTS[@]}" --held-out exclude
    --soundfont-mix 0.5 --sample-mix 0.5 --drum-kit-mix 0.5 --production 0.5 --level-db=-6..3)
source_opts() {
    case $1 in
        generated) ;;
        music21) echo "--program-randomize mixed --transpose=-4..4 --tempo-scale 0.8..1.25 --velocity-humanize 10 --crop 30 --variants 1" ;;
        mma) echo "--tempo-scale 0.9..1.1 --velocity-humanize 6 --crop 30 --variants 1" ;;
        planetblupi) echo "--transpose=-3..3 --tempo-scale 0.9..1.1 --crop 60 --variants 4" ;;
        *) echo "--variants 2" ;;
    esac
}
render_source() { # split source jobs; run it in a subshell: it becomes the renderer
    local dir=$W/midi/$1/$2
    [ -d "$dir" ] || return 0
    # A shuffled list, so that a render cut short by the deadline is a
    # fair sample of the source rather than its first files by name.
    mapfile -t files < <(find "$dir" -name '*.mid' | sort | shuf --random-source=<(yes))
    # shellcheck disable=SC2046
    exec "$BIN/cocola-render" render "${files[@]}" --out "$W/audio/$1" --jobs "$3" "${common[@]}" $(source_opts "$2") \
        > "$W/render-$1-$2.log" 2>&1
}
CORES=$(nproc)
for s in generated mma music21; do (render_source validation $s "$CORES"); done
say "validation rendered: $(ls "$W/audio/validation" | wc -l) tracks"
RENDER_END=$((T0 + RENDER_S))
sources=(generated music21 mma planetblupi)
per=$(( CORES / ${#sources[@]} )); [ "$per" -ge 1 ] || per=1
pids=()
for s in "${sources[@]}"; do render_source train "$s" "$per" & pids+=($!); done
running() { for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
while [ "$(date +%s)" -lt "$RENDER_END" ] && running; do sleep 2; done
running && kill "${pids[@]}" 2>/dev/null && say "rendering stopped at its deadline"
# Only the renders: a bare `wait` would also wait for the log's tee.
wait "${pids[@]}"
rm -rf "$W"/audio/*/.render-tmp
say "train rendered: $(ls "$W/audio/train" | wc -l) tracks"

# --- train for what is left, minus the export's share.
budget_min=$(python3 -c "print(max(0.5, ($(left) - $EXPORT_S) / 60))")
say "training for $budget_min min"
RUN=$W/run
"$BIN/cocola-trainer" train --data "generic:$W/audio" --out "$RUN" \
    --init-from "${INIT_FROM:-bundles/models/default.onnx}" --time-budget "$budget_min" --steps 100000 \
    --validate-every 100000 --validation-batches 4 --sensitivity-anchors 0 "${RECIPE[@]}"
say "train exited with $?"
cp "$RUN/metrics.jsonl" "$RUN/config.json" "$OUT/" 2>/dev/null

# --- export the run's last checkpoint.
"$BIN/cocola-trainer" export "$RUN" --out "$OUT/model.onnx" --name cocola-default \
    --model-version "$MODEL_VERSION" --license MIT --recalibrate-bn "${RECALIBRATE_BN:-30}" \
    --batches "${CALIBRATION_BATCHES:-20}" --description "${DESCRIPTION:-}" --training-data "${TRAINING_DATA:-}"
say "export exited with $?"
# The lent machine returns files of up to 16 MiB: a model (20 MB) goes back
# in parts; `cat model.onnx.part* > model.onnx` joins them.
if [ -f "$OUT/model.onnx" ]; then
    sha256sum "$OUT/model.onnx" | tee "$OUT/model.onnx.sha256"
    split -b 15000000 -d "$OUT/model.onnx" "$OUT/model.onnx.part" && rm "$OUT/model.onnx"
fi
ls -la "$OUT"
