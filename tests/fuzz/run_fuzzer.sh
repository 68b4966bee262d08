#!/bin/sh
# run_fuzzer.sh FUZZER CORPUS SECONDS [MAX_LEN]: fuzzes for SECONDS with inputs
# of up to MAX_LEN bytes (16384 unless given), starting from the seeds in CORPUS (which it leaves as they are: new inputs go to a scratch
# directory). A crash leaves its input in ./fuzz-artifacts/ of the build.
set -eu
fuzzer=$1 corpus=$2 seconds=$3 max_len=${4:-16384}
name=$(basename "$fuzzer")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
artifacts=$PWD/fuzz-artifacts
mkdir -p "$artifacts"
if ! "$fuzzer" -max_total_time="$seconds" -timeout=10 -max_len="$max_len" -print_final_stats=1 \
     -artifact_prefix="$artifacts/$name-" "$scratch" "$corpus"; then
  echo "$name found a failing input: $(ls -t "$artifacts"/"$name"-* 2>/dev/null | head -1)" >&2
  echo "Fix it, then add the input to $corpus as regression-<what> so every test run replays it." >&2
  exit 1
fi
