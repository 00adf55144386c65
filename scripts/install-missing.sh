#!/usr/bin/env bash
# Installs the Debian packages given after WHAT (as root), or names them and fails (otherwise).
#   scripts/install-missing.sh WHAT [PACKAGE...]     nothing to do without packages
set -euo pipefail
what=$1
shift
[ $# -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "$what needs these packages: $*; install them with: sudo apt-get install -y $*" >&2
  exit 1
fi
echo "installing for $what: $*"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
