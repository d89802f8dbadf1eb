#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fetch one Debian kernel image with apt-get download, through a private apt
# configuration (own sources list, lists and cache), never the system's.
#
#   fetch-kernel.sh SUITE_SET [PACKAGE_PATTERN]
#
# SUITE_SET: bullseye | bookworm | bookworm-backports | sid (see suite_lines).
# Prints the path of the extracted vmlinuz on stdout (progress on stderr).
# Images are cached under $TW_KERNEL_CACHE (default /var/cache/tracewire-kernels):
#   apt/SUITE_SET/...          private apt state
#   debs/*.deb                 downloaded packages
#   SUITE_SET/<package>/vmlinuz  extracted image (plus boot/config-* for feature checks)
#   SUITE_SET/<package>/modules/  the modules the integration suite needs in a guest
#                                ($TW_KERNEL_MODULES, default veth), uncompressed, with
#                                their dependencies; load order in modules/order
set -euo pipefail

set_name=${1:?usage: fetch-kernel.sh SUITE_SET [PACKAGE_PATTERN]}
flavour=${TW_KERNEL_FLAVOUR:-cloud-amd64}
cache=${TW_KERNEL_CACHE:-/var/cache/tracewire-kernels}
mirror=${TW_DEBIAN_MIRROR:-http://deb.debian.org}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# Lists older than this are refreshed (minutes); 0 forces an update.
max_age=${TW_APT_MAX_AGE_MIN:-720}

suite_lines() {
  case "$1" in
  bullseye)
    echo "deb [signed-by=$keyring] $mirror/debian bullseye main"
    echo "deb [signed-by=$keyring] $mirror/debian-security bullseye-security main" ;;
  bookworm)
    echo "deb [signed-by=$keyring] $mirror/debian bookworm main"
    echo "deb [signed-by=$keyring] $mirror/debian-security bookworm-security main" ;;
  bookworm-backports)
    echo "deb [signed-by=$keyring] $mirror/debian bookworm-backports main" ;;
  trixie)
    echo "deb [signed-by=$keyring] $mirror/debian trixie main"
    echo "deb [signed-by=$keyring] $mirror/debian-security trixie-security main" ;;
  sid)
    echo "deb [signed-by=$keyring] $mirror/debian sid main" ;;
  *) echo "fetch-kernel: unknown suite set '$1'" >&2; return 1 ;;
  esac
}

apt_dir=$cache/apt/$set_name
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/etc/preferences.d" \
  "$cache/debs"
suite_lines "$set_name" > "$apt_dir/sources.list"
: > "$apt_dir/status"

apt_opts=(
  -o "Dir::Etc::sourcelist=$apt_dir/sources.list"
  -o "Dir::Etc::sourceparts=-"
  -o "Dir::Etc::preferencesparts=$apt_dir/etc/preferences.d"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::State::status=$apt_dir/status"
  -o "Dir::Cache=$apt_dir/cache"
  -o "APT::Architecture=amd64"
  -o "APT::Architectures::=amd64"
  -o "Acquire::Languages=none"
  -o "APT::Get::List-Cleanup=0"
  -o "APT::Sandbox::User=root" # the cache belongs to root; _apt could not write it
)
# A backports suite is pinned low by its Release file (NotAutomatic): raise it, it is the only one here.
if [ "$set_name" = bookworm-backports ]; then
  printf 'Package: *\nPin: release a=bookworm-backports\nPin-Priority: 500\n' \
    > "$apt_dir/etc/preferences.d/backports"
fi

stamp=$apt_dir/lists/.tw-updated
if [ ! -e "$stamp" ] || [ "$max_age" = 0 ] || [ -n "$(find "$stamp" -mmin +"$max_age")" ]; then
  echo "fetch-kernel: apt-get update ($set_name)" >&2
  # apt-get update only warns when an index cannot be fetched: look for the indexes
  if ! apt-get -q "${apt_opts[@]}" update >&2 ||
     ! ls "$apt_dir"/lists/*_Packages* >/dev/null 2>&1; then
    echo "fetch-kernel: apt-get update failed for $set_name ($mirror): no package index" >&2
    exit 4
  fi
  touch "$stamp"
fi

# The image package: an explicit pattern, or what the flavour's meta package depends on.
pkg=${2:-}
if [ -z "$pkg" ]; then
  meta=linux-image-$flavour
  pkg=$({ apt-cache "${apt_opts[@]}" depends "$meta" 2>/dev/null || true; } |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\).*/\1/p' | head -n1)
  if [ -z "$pkg" ]; then
    echo "fetch-kernel: no image package behind $meta in $set_name" >&2
    exit 2
  fi
fi
# A versioned image package may itself only be a pointer to the real one
# (sid ships the image in a linux-binary-* package): follow one level.
follow=$({ apt-cache "${apt_opts[@]}" depends "$pkg" 2>/dev/null || true; } |
         sed -n 's/^ *Depends: \(linux-binary-[^ ]*\).*/\1/p' | head -n1)
pkgs=("$pkg")
[ -n "$follow" ] && pkgs+=("$follow")
# ... and sid keeps the modules in a linux-modules-* package
mods_pkg=$({ apt-cache "${apt_opts[@]}" depends "$pkg" 2>/dev/null || true; } |
           sed -n 's/^ *Depends: \(linux-modules-[^ ]*\).*/\1/p' | head -n1)
[ -n "$mods_pkg" ] && pkgs+=("$mods_pkg")

# unpack_packages: download what is not cached yet, extract every package into $tmp (new)
unpack_packages() {
  local p
  for p in "${pkgs[@]}"; do
    if ! ls "$cache/debs/${p}_"*.deb >/dev/null 2>&1; then
      echo "fetch-kernel: apt-get download $p ($set_name)" >&2
      (cd "$cache/debs" && apt-get -q "${apt_opts[@]}" download "$p" >&2)
    fi
  done
  tmp=$(mktemp -d "$cache/extract.XXXXXX")
  for p in "${pkgs[@]}"; do
    dpkg-deb -x "$(ls "$cache/debs/${p}_"*.deb | tail -n1)" "$tmp"
  done
}

out=$cache/$set_name/$pkg
if [ ! -s "$out/vmlinuz" ]; then
  unpack_packages
  # boot/vmlinuz-REL (up to trixie) or usr/lib/modules/REL/vmlinuz (sid's linux-binary-*)
  img=$({ ls "$tmp"/boot/vmlinuz-* "$tmp"/usr/lib/modules/*/vmlinuz 2>/dev/null || true; } | head -n1)
  if [ -z "$img" ]; then
    echo "fetch-kernel: no vmlinuz in ${pkgs[*]}" >&2
    rm -rf "$tmp"
    exit 3
  fi
  mkdir -p "$out"
  cp "$img" "$out/vmlinuz"
  cp "$tmp"/boot/config-* "$tmp"/usr/lib/modules/*/config "$out/" 2>/dev/null || true
  case "$img" in
  */boot/vmlinuz-*) basename "$img" | sed 's/^vmlinuz-//' > "$out/release" ;;
  *) basename "$(dirname "$img")" > "$out/release" ;;
  esac
  rm -rf "$tmp"
fi

# The modules the guest suite loads (veth, and tbf for the retransmission test), once per image.
modules=${TW_KERNEL_MODULES:-veth sch_tbf}
if [ ! -e "$out/modules/order" ] || [ "$(cat "$out/modules/wanted" 2>/dev/null)" != "$modules" ]; then
  unpack_packages
  rm -rf "$out/modules" && mkdir -p "$out/modules"
  : > "$out/modules/order"
  # add_module NAME: its dependencies (the package has no modules.dep) first, then it
  add_module() {
    local f base dep
    f=$(find "$tmp" -path '*/modules/*' \( -name "$1.ko" -o -name "$1.ko.*" \) | head -n1)
    if [ -z "$f" ]; then
      echo "fetch-kernel: module $1 is not in ${pkgs[*]} (built in?)" >&2
      return 0
    fi
    base=$1.ko
    grep -qx "$base" "$out/modules/order" && return 0
    case "$f" in
    *.xz) xz -dc "$f" > "$out/modules/$base" ;;
    *.zst) zstd -qdc "$f" > "$out/modules/$base" ;;
    *.gz) gzip -dc "$f" > "$out/modules/$base" ;;
    *) cp "$f" "$out/modules/$base" ;;
    esac
    # the module's own "depends=a,b" string (its .modinfo section)
    for dep in $(tr '\0' '\n' < "$out/modules/$base" | sed -n 's/^depends=//p' | head -n1 | tr ',' ' '); do
      add_module "$dep"
    done
    echo "$base" >> "$out/modules/order"
  }
  for m in $modules; do add_module "$m"; done
  echo "$modules" > "$out/modules/wanted"
  rm -rf "$tmp"
fi
echo "$out/vmlinuz"
