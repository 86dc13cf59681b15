#!/usr/bin/env bash
# npm run bench:runtimes -- [--ref REF] [--rounds R] [--startup-only] [bench options…]
# The same benchmark on two runtimes in one round: the previous one (the machine's Node.js, on the
# code at REF — by default the last commit before the move to Node.js 26 — run through the tsx
# loader it had) and the declared one (this checkout on node_modules/.bin/node, types stripped by
# Node.js). Runs alternate (old, new, old, new…; one bench run each) so that a busy machine weighs
# on both alike; bench/runtimes-report.ts then prints the medians side by side, each figure also as
# its ratio to the reference measured in the same run (bare SQL, bare Fastify).
# Example: npm run bench:runtimes -- --rounds 3 --n 10000 --only billing,access,memory --latency 0 --workers 1
set -euo pipefail
cd "$(dirname "$0")/.."
ref=3484f6086b0060bbd1573067e1c380e5750239d3
rounds=3
startup_only=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --ref) ref="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --startup-only) startup_only=1; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
out="bench/results/runtimes"
old="bench/results/tmp/runtime-old"
mkdir -p "$out" bench/results/tmp
if [ ! -d "$old/.git" ] && [ ! -f "$old/.git" ]; then
  git worktree add -f --detach "$old" "$ref" >/dev/null
fi
git -C "$old" checkout -q --detach "$ref"
# The old side installs its own lockfile with the machine's npm and Node.js.
(cd "$old" && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null)
# The machine's own Node.js: the first `node` on PATH outside node_modules (npm run puts
# node_modules/.bin first), or OLD_NODE.
oldnode="${OLD_NODE:-$(IFS=:; for d in $PATH; do case "$d" in *node_modules*) continue ;; esac; [ -x "$d/node" ] && { echo "$d/node"; break; }; done)}"
newnode="$PWD/node_modules/.bin/node"
echo "old: $("$oldnode" --version) at ${ref:0:10} (tsx) · new: $("$newnode" --version) at $(git rev-parse --short HEAD) (type stripping)" >&2
# Start-up of the renewd command (`renewd help`: the whole CLI module graph loaded, nothing run),
# 10 starts each, alternating: the old side loads its sources through tsx, the new one has Node.js
# strip the types. Median milliseconds.
startup() {
  local o=() n=() t
  for _ in $(seq 1 10); do
    t=$(date +%s%N); (cd "$old" && "$oldnode" --import tsx src/cli/main.ts help >/dev/null 2>&1); o+=($(( ($(date +%s%N) - t) / 1000000 )))
    t=$(date +%s%N); "$newnode" bin/renewd.js help >/dev/null 2>&1; n+=($(( ($(date +%s%N) - t) / 1000000 )))
  done
  local mo mn
  mo=$(printf '%s\n' "${o[@]}" | sort -n | sed -n 5,6p | paste -sd+ | awk -F+ '{print ($1+$2)/2}')
  mn=$(printf '%s\n' "${n[@]}" | sort -n | sed -n 5,6p | paste -sd+ | awk -F+ '{print ($1+$2)/2}')
  echo "renewd help, median of 10 starts: old (tsx) ${mo} ms · new (type stripping) ${mn} ms"
}
startup | tee "$out/startup.txt"
[ "$startup_only" = 1 ] && exit 0
rm -f "$out"/old-*.json "$out"/new-*.json
# The new side's runs write bench/results/latest.*; the committed report is put back at the end.
keep="$(mktemp -d)"
cp bench/results/latest.json bench/results/latest.md bench/results/latest.svg "$keep"/ 2>/dev/null || true
trap 'cp "$keep"/latest.* bench/results/ 2>/dev/null || true' EXIT
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds: old runtime" >&2
  (cd "$old" && PATH="$(dirname "$oldnode"):$PATH" "$oldnode" --import tsx bench/main.ts --runs 1 "${args[@]}" >/dev/null)
  cp "$old/bench/results/latest.json" "$out/old-$r.json"
  echo "round $r/$rounds: new runtime" >&2
  "$newnode" bench/main.ts --runs 1 "${args[@]}" >/dev/null
  cp bench/results/latest.json "$out/new-$r.json"
done
"$newnode" bench/runtimes-report.ts "$out" | tee "$out/report.md"
