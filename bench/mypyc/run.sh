#!/usr/bin/env bash
# Reproduces the mypyc experiment of issue 15 (bench/mypyc/README.md): compiles the detectors
# and protocol's decode modules into a throwaway copy of this commit, then runs `safehood
# detect` interpreted and compiled, alternated, and prints each run's CPU seconds and whether
# the alerts are byte-identical. Usage: bench/mypyc/run.sh [households] [days] [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
households=${1:-60}; days=${2:-4}; rounds=${3:-2}
py=$root/.venv/bin/python
work=$(mktemp -d /tmp/safehood-mypyc-XXXXXX)
trap 'rm -rf "$work"' EXIT

git archive HEAD | tar -x -C "$work/"
mkdir "$work/compiled" && git archive HEAD | tar -x -C "$work/compiled"
patch -s -d "$work/compiled" -p1 < bench/mypyc/detectors.patch
modules=()
for m in base clock community_prior device_health door engine fall inactivity night_wandering \
         presence routine rules smoke sos water; do modules+=("safehood/detectors/$m.py"); done
for m in _payloads _topics _time _dedup; do modules+=("safehood/protocol/$m.py"); done
modules+=(safehood/learning/_features.py)
start=$(date +%s)
(cd "$work/compiled" && TIMEFORMAT='mypyc build: %R s wall, %U s user CPU' && \
  time "$root/.venv/bin/mypyc" "${modules[@]}" >"$work/build.log" 2>&1)
echo "compiled $(find "$work/compiled" -name '*.so' -not -path '*/build/*' -not -name '*__mypyc*' | wc -l) modules in $(( $(date +%s) - start )) s"

"$py" -m safehood.cli simulate --households "$households" --days "$days" --seed 1 --no-progress \
  --out "$work/rec" >/dev/null 2>&1
echo "recording: $(wc -l < "$work/rec/traffic.jsonl") messages"
run() {  # label, PYTHONPATH, output
  local out
  out=$( { PYTHONPATH=$2 /usr/bin/time -f '%U %S' "$py" -m safehood.cli detect \
      --registry "$work/rec/registry.json" --input "$work/rec/traffic.jsonl" \
      --output "$3" 2>&1 >/dev/null; } | tail -1)
  echo "$1: $(awk '{printf "%.2f", $1 + $2}' <<<"$out") CPU s"
}
for round in $(seq "$rounds"); do
  run interpreted "$work" "$work/interpreted.jsonl"
  run compiled "$work/compiled" "$work/compiled.jsonl"
done
cmp -s "$work/interpreted.jsonl" "$work/compiled.jsonl" && echo "alerts: byte-identical" \
  || echo "alerts: DIFFER"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
