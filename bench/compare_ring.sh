#!/usr/bin/env bash
# Runs bench/ring_pair.c under partyline and Open MPI over TCP, alternating run by run, and
# prints each run and the medians with their ratio. Usage: bench/compare_ring.sh [RUNS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
rounds=${2:-20000}
command -v mpicc >/dev/null || { echo "needs Open MPI: apt-get install -y openmpi-bin libopenmpi-dev" >&2; exit 1; }
make -s build
out=$(mktemp -d)
lib=$PWD/target/release
cc -O2 -Iinclude bench/ring_pair.c -o "$out/pl" -L"$lib" -lpartyline -Wl,-rpath,"$lib"
mpicc -O2 bench/ring_pair.c -o "$out/ompi"
ompi=(mpirun --oversubscribe --allow-run-as-root --mca btl tcp,self --mca btl_tcp_if_include lo -np 3)
for i in $(seq "$runs"); do
  echo "partyline $(target/release/partyrun -n 3 "$out/pl" "$rounds")" | tee -a "$out/log"
  echo "openmpi $("${ompi[@]}" "$out/ompi" "$rounds" 2>/dev/null | grep sync8)" | tee -a "$out/log"
done
python3 - "$out/log" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    who, _, sync, _, batch = line.split()
    rows.setdefault(who, []).append((float(sync), float(batch)))
med = {w: (statistics.median(s for s, _ in r), statistics.median(b for _, b in r)) for w, r in rows.items()}
for w, (s, b) in med.items():
    print(f"median {w:9}: 8-byte ring round {s:7.2f} us, 8 MB ring exchange {b:6.0f} MB/s")
p, o = med["partyline"], med["openmpi"]
print(f"ratio partyline/openmpi: round time {p[0] / o[0]:.2f}x, batch throughput {p[1] / o[1]:.2f}x")
PY
