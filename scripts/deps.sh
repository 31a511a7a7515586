#!/usr/bin/env bash
# Install the Debian packages pgmanage needs to build and test (idempotent).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pgm_become_root "$0" "$@"
pgm_install_deps
