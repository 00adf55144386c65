#!/usr/bin/env bash
# Installs the system packages the build and tests use, when they are missing (Debian 12).
set -euo pipefail
need=()
command -v cc >/dev/null || need+=(gcc)
command -v c++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v ip >/dev/null || need+=(iproute2)
# The compiler-wrapper tests build a CMake project with find_package(MPI) and check partyline.pc.
command -v cmake >/dev/null || need+=(cmake)
command -v pkg-config >/dev/null || need+=(pkg-config)
# The TLS tests capture loopback traffic to show that no payload crosses in plaintext.
command -v tcpdump >/dev/null || need+=(tcpdump)
exec "$(dirname "$0")/install-missing.sh" "partyline" "${need[@]}"
