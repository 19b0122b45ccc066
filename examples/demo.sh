#!/usr/bin/env bash
# Demo: render a small synthetic EDM library, scan it into an analysis store, show what the store
# and the library hold, print one track's structure, and score the detector against the exact
# ground truth. Run from the repository root with djstruct installed.
set -euo pipefail
OUT=${1:-demo-out}
mkdir -p "$OUT"
export DJSTRUCT_STORE="$OUT/store.sqlite"
djstruct synth "$OUT/library" --n 4 --seed 7 --formats mp3,flac,m4a,ogg
djstruct scan "$OUT/library"
djstruct status
djstruct library "$OUT/library"
djstruct analyze "$OUT"/library/*.mp3
djstruct analyze --json "$OUT"/library/*.flac > "$OUT/analysis.jsonl"
echo "JSON lines written to $OUT/analysis.jsonl"
djstruct eval "$OUT/library"
