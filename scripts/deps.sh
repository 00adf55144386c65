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
# The multi-host tests run a real sshd in each of several network namespaces and ssh into them.
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
{ command -v ssh && command -v ssh-keygen; } >/dev/null || need+=(openssh-client)
# mpi4py's test suite (make test-mpi4py) is built from source in a venv: Python, venv, headers.
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
[ -f "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)/Python.h" ] || need+=(python3-dev)
exec "$(dirname "$0")/install-missing.sh" "partyline" "${need[@]}"
