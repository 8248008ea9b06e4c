#!/usr/bin/env bash
# Fetches one of Debian 12's own kernels for the qemu kernel suite and prints the directory it is unpacked in.
#   scripts/qemu-kernel.sh bookworm             Linux 6.1  (bookworm + bookworm-security)
#   scripts/qemu-kernel.sh bookworm-backports   Linux 6.12 (bookworm-backports)
# The package is linux-image-<abi>-cloud-amd64-unsigned, the ABI named by the current linux-image-cloud-amd64
# metapackage of that suite (it moves with security updates). It is fetched with `apt-get download` and unpacked
# with `dpkg -x` into the cache, never installed. apt runs with a private configuration (its own sources, lists
# and cache under the cache directory), so the machine's apt setup is neither needed nor changed; the indexes are
# refreshed at most every FLOWLENS_QEMU_APT_MAX_AGE_H hours (default 24) and an unpacked kernel is reused.
#   FLOWLENS_QEMU_CACHE   cache directory (default <repo>/.cache/qemu)
set -euo pipefail
suite=${1:?usage: qemu-kernel.sh bookworm|bookworm-backports}
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${FLOWLENS_QEMU_CACHE:-$root/.cache/qemu}
max_age_h=${FLOWLENS_QEMU_APT_MAX_AGE_H:-24}
mirror=${FLOWLENS_DEBIAN_MIRROR:-http://deb.debian.org}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

case $suite in
  bookworm) suites="bookworm"; security=1 ;;
  bookworm-backports) suites="bookworm-backports"; security=0 ;;
  *) echo "qemu-kernel.sh: unknown suite '$suite' (bookworm or bookworm-backports)" >&2; exit 2 ;;
esac
[ -r "$keyring" ] || { echo "qemu-kernel.sh: $keyring missing (apt-get install debian-archive-keyring)" >&2; exit 1; }

apt_dir=$cache/apt/$suite
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" "$apt_dir/prefs.d" "$cache/deb"
{
  printf 'Types: deb\nURIs: %s/debian\nSuites: %s\nComponents: main\nSigned-By: %s\n' "$mirror" "$suites" "$keyring"
  if [ "$security" = 1 ]; then
    printf '\nTypes: deb\nURIs: %s/debian-security\nSuites: bookworm-security\nComponents: main\nSigned-By: %s\n' \
      "$mirror" "$keyring"
  fi
} >"$apt_dir/debian.sources"
apt_opts=(
  -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt_dir/sources.d"
  -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$apt_dir/prefs.d"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "Dir::State::status=/dev/null"
  -o "APT::Architecture=amd64" -o "APT::Architectures=amd64" -o "Acquire::Languages=none"
  -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1"
)
mkdir -p "$apt_dir/sources.d"
cp "$apt_dir/debian.sources" "$apt_dir/sources.d/debian.sources"

stamp=$apt_dir/updated
if [ -z "$(find "$stamp" -mmin -$((max_age_h * 60)) 2>/dev/null)" ]; then
  if apt-get "${apt_opts[@]}" -qq update >"$apt_dir/update.log" 2>&1; then
    touch "$stamp"
  elif ls "$apt_dir"/lists/*_Packages* >/dev/null 2>&1; then
    echo "qemu-kernel.sh: apt-get update failed, using the indexes from $(date -r "$apt_dir/lists" -u +%FT%TZ)" >&2
  else
    cat "$apt_dir/update.log" >&2
    exit 1
  fi
fi

# The metapackage's newest version depends on linux-image-<abi>-cloud-amd64 (the signed image).
image=$(apt-cache "${apt_opts[@]}" show linux-image-cloud-amd64 |
  awk '/^Version:/ { v = $2 } /^Depends:/ { print v, $0 }' | sort -V | tail -1 |
  grep -o 'linux-image-[0-9][^ ,]*-cloud-amd64' | head -1)
[ -n "$image" ] || { echo "qemu-kernel.sh: no linux-image-cloud-amd64 in $suites" >&2; exit 1; }
abi=${image#linux-image-}
pkg=$image-unsigned
dest=$cache/kernels/$abi
if [ ! -f "$dest/.complete" ]; then
  rm -rf "$dest" "$cache/deb/${pkg}_"*.deb
  (cd "$cache/deb" && apt-get "${apt_opts[@]}" -qq download "$pkg") >&2
  deb=$(ls "$cache/deb/${pkg}_"*.deb)
  mkdir -p "$dest"
  dpkg -x "$deb" "$dest"
  rm -f "$deb"
  touch "$dest/.complete"
fi
echo "$dest"
