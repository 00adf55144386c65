#!/usr/bin/env bash
# Fuzzes the decoders that read what peers send (frames, handshake greetings, rendezvous
# messages, TLS records, striped links' chunks) with cargo-fuzz for a bounded time each, starting from the committed corpus.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 30; 0 only builds the targets)
# Needs the nightly toolchain and cargo-fuzz; installs both when missing (rustup, cargo install).
# A finding fails the run and names the input to replay: cargo +nightly fuzz run TARGET FILE
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
targets=(frames greeting rendezvous records chunks)

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: installing the nightly toolchain (cargo-fuzz needs it for sanitizer coverage)"
  rustup toolchain install nightly --profile minimal >/dev/null \
    || { echo "fuzz: cannot install nightly Rust; install it with: rustup toolchain install nightly" >&2; exit 1; }
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet \
    || { echo "fuzz: cannot install cargo-fuzz; install it with: cargo install cargo-fuzz" >&2; exit 1; }
fi

# Release mode with debug assertions: fast enough to cover much in a short run, and overflow checks stay on.
# The build lives outside the clone, so a fresh clone on the same machine reuses it.
target_dir=${PARTYLINE_FUZZ_TARGET:-${XDG_CACHE_HOME:-$HOME/.cache}/partyline/fuzz-target}
build=(cargo +nightly fuzz build --release --debug-assertions --fuzz-dir fuzz --target-dir "$target_dir")
echo "== ${build[*]}"
"${build[@]}"
[ "$seconds" = 0 ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
  # New inputs go to a scratch corpus, so the committed one only changes by hand.
  mkdir -p "$work/$t"
  echo "== fuzzing $t for ${seconds}s"
  if ! cargo +nightly fuzz run --release --debug-assertions --fuzz-dir fuzz --target-dir "$target_dir" "$t" "$work/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 >"$work/$t.log" 2>&1; then
    tail -n 40 "$work/$t.log" >&2
    echo "FUZZ FAILED: target $t found an input that breaks a decoder check (above); it is saved under fuzz/artifacts/$t/" >&2
    exit 1
  fi
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$work/$t.log" | sed "s/^/  $t: /"
done
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no findings"
