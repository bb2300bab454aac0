#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs, and only those that are missing.
#
# Usage: scripts/install_dependencies.sh [--with-data]
#   --with-data  also what scripts/fetch_data.sh needs (npm, dataset-fashion-mnist)
#
# As root, missing packages are installed with apt-get; as another user the script lists them and
# fails. libopenblas0-pthread replaces Debian's reference BLAS behind libblas.so.3: LibTorch runs
# small convolutions through it, 4x faster (see README, "BLAS threads").
set -euo pipefail

packages=(cmake g++ make libtorch-dev libfmt-dev catch2 libopencv-dev zlib1g-dev libopenblas0-pthread)
if [[ "${1:-}" == "--with-data" ]]; then
  packages+=(npm dataset-fashion-mnist)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    # npm may come from elsewhere (e.g. NodeSource); a working npm is enough.
    if [[ "$package" == npm ]] && command -v npm >/dev/null 2>&1; then continue; fi
    missing+=("$package")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install_dependencies: missing Debian packages: ${missing[*]}" >&2
  echo "install_dependencies: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "install_dependencies: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
