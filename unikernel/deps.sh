#!/usr/bin/env bash
# Installs what the unikernel build and boot need (Debian 12): the kernel source and its build
# tools, a static glibc, and QEMU. As root it installs what is missing; otherwise it names it.
set -euo pipefail
need=()
[ -f /usr/src/linux-source-6.1.tar.xz ] || need+=(linux-source-6.1)
command -v flex >/dev/null || need+=(flex)
command -v bison >/dev/null || need+=(bison)
command -v bc >/dev/null || need+=(bc)
command -v cpio >/dev/null || need+=(cpio)
command -v xz >/dev/null || need+=(xz-utils)
command -v make >/dev/null || need+=(make)
command -v gcc >/dev/null || need+=(gcc)
command -v flock >/dev/null || need+=(util-linux)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -f /usr/include/libelf.h ] || need+=(libelf-dev)
# gcc -static needs glibc's static archives (libc-dev ships them on Debian).
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need+=(libc6-dev)
exec "$(dirname "$0")/../scripts/install-missing.sh" "the unikernel build" "${need[@]}"
