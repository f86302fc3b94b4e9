#!/usr/bin/env bash
# Benchmark: opsctl etl rebuild vs the DuckDB reference, same data, same run.
#
#   bench/rebuild.sh                       # SIZES="S M": S-ddb S-dbz M-ddb M-dbz
#   SIZES=S bench/rebuild.sh               # small only (start here on a shared machine)
#   SIZES=L bench/rebuild.sh               # 30M events / 3M keys, opsctl under --memory-limit 1GiB
#                                          # (DuckDB is skipped for L unless DUCKDB_L=1: it needs ~7 GB)
#   ONLY="M-ddb" REPEAT=3 bench/rebuild.sh # subset, repeated (alternating DuckDB / opsctl)
#   WORK=/tmp/bench-work bench/rebuild.sh  # data and results (default /tmp/bench-work; M needs ~3 GB)
#
# Needs: go, node, /usr/bin/time, the CDC generator and DuckDB reference in ../shared/bench (relative
# to the repository root), and @duckdb/node-api (pinned in internal/localaws/emulators: make emulators).
# Prints wall time, peak RSS (/usr/bin/time -v) and records/s for both, the ratios, and verifies both
# outputs against the generator's expected.json. Results: $WORK/rebuild-results.tsv, logs in $WORK/logs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=$(cd "$ROOT/.." && pwd)/shared/bench
if [ ! -d "$SHARED/gen" ] || [ ! -f "$SHARED/duckdb/rebuild.mjs" ]; then
  echo "rebuild.sh: the CDC generator and DuckDB reference are not at $SHARED (expected ../shared/bench next to the repository)" >&2
  exit 1
fi
for tool in go node /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "rebuild.sh: $tool not found" >&2; exit 1; }
done
WORK=${WORK:-/tmp/bench-work}
case "$WORK" in "$ROOT"|"$ROOT"/*) echo "rebuild.sh: WORK must be outside the repository" >&2; exit 1 ;; esac
mkdir -p "$WORK"/{bin,data,out,logs}
WORK=$(cd "$WORK" && pwd)
SIZES=${SIZES:-"S M"}
REPEAT=${REPEAT:-1}
THREADS=${THREADS:-2}

echo "== build"
(cd "$SHARED/gen" && go build -o "$WORK/bin/cdcgen" .)
(cd "$ROOT" && go build -o "$WORK/bin/opsctl" ./cmd/opsctl)
# The shared reference directory is read-only: run a copy of it, with the
# @duckdb/node-api the project pins (same version as the reference's lockfile).
REF=$WORK/duckdb-ref
mkdir -p "$REF"
cp "$SHARED"/duckdb/*.mjs "$SHARED"/duckdb/package.json "$SHARED"/duckdb/package-lock.json "$REF/"
chmod u+w "$REF"/*
if [ ! -d "$REF/node_modules/@duckdb/node-api" ]; then
  if [ -d "$ROOT/internal/localaws/emulators/node_modules/@duckdb/node-api" ]; then
    ln -sfn "$ROOT/internal/localaws/emulators/node_modules" "$REF/node_modules"
  else
    (cd "$REF" && (npm ci --no-audit --no-fund || npm install --no-audit --no-fund))
  fi
fi

DATASETS=()
for s in $SIZES; do
  case $s in
    S) DATASETS+=("S-ddb dynamodb 1000000 100000" "S-dbz debezium 1000000 100000 -snapshot-frac 0.5") ;;
    M) DATASETS+=("M-ddb dynamodb 10000000 1000000" "M-dbz debezium 10000000 1000000 -snapshot-frac 0.5") ;;
    L) DATASETS+=("L-ddb dynamodb 30000000 3000000") ;;
    *) echo "rebuild.sh: unknown size $s (S, M or L)" >&2; exit 2 ;;
  esac
done

# tv LOG cmd... runs cmd under /usr/bin/time -v; prints "wall_s rss_mb cpu%"
tv() {
  local log=$1; shift
  /usr/bin/time -v "$@" > "${log%.time}.out" 2> "$log" || { echo "FAILED: $*" >&2; tail -5 "$log" >&2; return 1; }
  awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); w=0; for(i=1;i<=n;i++) w=w*60+a[i]}
              /Maximum resident set size/{r=$2/1024}
              /Percent of CPU/{c=$2}
              END{printf "%.2f %.0f %s\n", w, r, c}' "$log"
}
jget() { grep "\"$2\"" "$1" | head -1 | sed 's/.*: *//; s/,$//; s/"//g'; }

RESULTS=$WORK/rebuild-results.tsv
[ -f "$RESULTS" ] || printf "date\tdataset\ttool\trecords\twall_s\tpeak_rss_mb\tcpu\trecords_per_s\tverify\n" > "$RESULTS"
SUMMARY=()
for d in "${DATASETS[@]}"; do
  read -r name fmt events keys extra <<< "$d"
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
  dir=$WORK/data/$name
  exp=$WORK/data/$name.expected.json
  if [ ! -f "$exp" ]; then
    rm -rf "$dir"
    echo "== generate $name ($events events, $keys keys)"
    "$WORK/bin/cdcgen" -out "$dir" -format "$fmt" -events "$events" -keys "$keys" -seed 42 $extra > "$WORK/logs/gen.$name.json"
    mv "$dir/expected.json" "$exp" # keep it out of the increments opsctl reads
  fi
  records=$(jget "$exp" emitted_records)
  keyflag=(); [ "$fmt" = debezium ] && keyflag=(--key pk)
  memflag=(); [[ "$name" == L-* ]] && memflag=(--memory-limit 1GiB)
  for rep in $(seq 1 "$REPEAT"); do
    if [[ "$name" == L-* ]] && [ "${DUCKDB_L:-0}" != 1 ]; then
      duck="NaN NaN -"; dver=skipped
    else
      echo "== $name run $rep: DuckDB"
      rm -rf "$WORK/out/$name.duckdb.parquet" "$WORK/out/duckdb_spill"
      duck=$(cd "$REF" && tv "$WORK/logs/duck.$name.time" node rebuild.mjs rebuild --format "$fmt" --input "$dir" \
               --out "$WORK/out/$name.duckdb.parquet" --method qualify --threads "$THREADS" --temp "$WORK/out/duckdb_spill")
      dver=$(cd "$REF" && node rebuild.mjs verify --out "$WORK/out/$name.duckdb.parquet" --expected "$exp" | tail -1 | grep -o '"verify":"[A-Z]*"' | cut -d'"' -f4)
      rm -f "$WORK/out/$name.duckdb.parquet"
    fi
    echo "== $name run $rep: opsctl"
    rm -f "$WORK/out/$name.opsctl.parquet"
    ops=$(tv "$WORK/logs/opsctl.$name.time" "$WORK/bin/opsctl" etl rebuild --source "$dir" --format "$fmt" "${keyflag[@]}" \
            --dest "$WORK/out/$name.opsctl.parquet" --temp-dir "$WORK/out" "${memflag[@]}" -o json)
    over=$(node "$ROOT/bench/verify.mjs" --out "$WORK/out/$name.opsctl.parquet" --expected "$exp" | tail -1 | grep -o '"verify":"[A-Z]*"' | cut -d'"' -f4)
    spilled=$(grep -o '"spilled_runs": [0-9]*' "$WORK/logs/opsctl.$name.out" | grep -o '[0-9]*$' || echo 0)
    echo "   opsctl spilled runs: $spilled"
    read -r dw dr dc <<< "$duck"
    read -r ow or oc <<< "$ops"
    drs=$(awk -v n="$records" -v w="$dw" 'BEGIN{printf "%.0f", n/w}')
    ors=$(awk -v n="$records" -v w="$ow" 'BEGIN{printf "%.0f", n/w}')
    now=$(date -u +%Y-%m-%dT%H:%MZ)
    printf "%s\t%s\tduckdb\t%s\t%s\t%s\t%s\t%s\t%s\n" "$now" "$name" "$records" "$dw" "$dr" "$dc" "$drs" "$dver" >> "$RESULTS"
    printf "%s\t%s\topsctl\t%s\t%s\t%s\t%s\t%s\t%s\n" "$now" "$name" "$records" "$ow" "$or" "$oc" "$ors" "$over" >> "$RESULTS"
    SUMMARY+=("$(printf "| %s | %s | %s s | %s MB | %s | %s | %s s | %s MB | %s | %s | %.2fx | %.2f |" "$name" "$records" \
      "$dw" "$dr" "$drs" "$dver" "$ow" "$or" "$ors" "$over" \
      "$(awk -v a="$ors" -v b="$drs" 'BEGIN{print a/b}')" "$(awk -v a="$or" -v b="$dr" 'BEGIN{print a/b}')")")
  done
done

echo
echo "| dataset | records | DuckDB wall | DuckDB peak RSS | DuckDB rec/s | verify | opsctl wall | opsctl peak RSS | opsctl rec/s | verify | speed ratio (opsctl/DuckDB rec/s) | RSS ratio (opsctl/DuckDB) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for l in "${SUMMARY[@]}"; do echo "$l"; done
echo
echo "Targets: speed ratio >= 1.5 and RSS ratio <= 0.5 on M-ddb and M-dbz; L completes under --memory-limit 1GiB."
echo "Raw rows: $RESULTS"
