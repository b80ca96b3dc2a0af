#!/usr/bin/env bash
# make demo: the whole pipeline on built-in data.
#
# Simulates the `tiny` preset (1 beam, 2 bands, 8 timesteps of 256x256 px
# with known transients and variables), runs gotrap over it with the HTML
# report, and prints the transient and variable candidates. Then shows what
# gotrap reads from the real radio images beside the project, if present.
# Usage: scripts/demo.sh BIN [DATADIR [OUTDIR]]
set -euo pipefail
bin=${1:-bin/gotrap}
data=${2:-../shared/data}
out=${3:-demo-out}

rm -rf "$out"
mkdir -p "$out"
echo "== gotrap simulate --preset tiny --seed 1 $out/sim"
"$bin" simulate --preset tiny --seed 1 "$out/sim"
echo
echo "== gotrap run --report --out $out/run $out/sim/images"
"$bin" run --quiet --report --out "$out/run" "$out/sim/images"
echo
echo "== new sources without vetting flags (gotrap query $out/run transients --format table; --all adds the flagged ones)"
"$bin" query "$out/run" transients --format table
echo
echo "== variable candidates: chi-square false-alarm probability 0.01 for the run, V >= 0.1 (gotrap query $out/run variables)"
"$bin" query "$out/run" variables
echo
echo "== what the simulator injected: $out/sim/truth/sources.csv (transients and variables)"
{ head -1 "$out/sim/truth/sources.csv"; grep -E ",(transient|variable)," "$out/sim/truth/sources.csv"; } | cut -d, -f1-8 | head -21 || true
echo
if [ -d "$data" ]; then
  echo "== gotrap info on the real images in $data (two of them are broken on purpose)"
  "$bin" info "$data"/*.fits || echo "(the files above that could not be read say why)"
fi
echo
echo "report: $out/run/report/index.html"
