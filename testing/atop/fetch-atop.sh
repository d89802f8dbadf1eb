#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fetch a newer Debian atop (2.9 or later: it has the netatop-bpf client) and the libraries it
# links against, from a newer suite than the host's, with apt-get download through a private apt
# configuration (own sources list, lists, cache and empty status file; the system's apt state is
# never read or written), and extract them into a directory that runs atop through that suite's
# own dynamic loader: nothing is installed on the host.
#
#   fetch-atop.sh [SUITE]            SUITE: trixie (default) | sid
#
# Prints the path of a wrapper on stdout (progress on stderr): "$wrapper" -V runs that atop.
# Cached under $TW_ATOP_CACHE (default /var/cache/tracewire-atop):
#   apt/SUITE/...        private apt state
#   debs/SUITE/*.deb     downloaded packages
#   SUITE/root/...       extracted packages (usr/bin/atop, the loader, the libraries)
#   SUITE/atop           the wrapper; its presence means the extraction is complete
# A second run finds the wrapper and touches neither apt nor the network.
# Exit codes: 0 ok; 4 the archive is unreachable (no package index); 2 no suitable atop in SUITE;
# 3 the extracted atop does not run.
set -euo pipefail

suite=${1:-trixie}
cache=${TW_ATOP_CACHE:-/var/cache/tracewire-atop}
mirror=${TW_DEBIAN_MIRROR:-http://deb.debian.org}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# Lists older than this are refreshed (minutes) when something must be downloaded; 0 forces it.
max_age=${TW_APT_MAX_AGE_MIN:-720}
# Bound on each apt-get run (seconds): a stalled mirror fails the fetch instead of hanging.
apt_timeout=${TW_APT_TIMEOUT:-300}

log() { echo "fetch-atop: $*" >&2; }

case "$suite" in
trixie | sid) ;;
*) log "unknown suite '$suite' (trixie or sid)"; exit 2 ;;
esac

out=$cache/$suite
wrapper=$out/atop
if [ -x "$wrapper" ]; then
	echo "$wrapper"
	exit 0
fi
# one fetch at a time (two tests starting together): the second finds the first's result
mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -w 900 9; then
	log "another fetch-atop.sh holds $cache/.lock"
	exit 4
fi
if [ -x "$wrapper" ]; then
	echo "$wrapper"
	exit 0
fi

suite_lines() {
	echo "deb [signed-by=$keyring] $mirror/debian $suite main"
	[ "$suite" = trixie ] && echo "deb [signed-by=$keyring] $mirror/debian-security trixie-security main"
	return 0
}

apt_dir=$cache/apt/$suite
debs=$cache/debs/$suite
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/etc/preferences.d" \
	"$apt_dir/etc/apt.conf.d" "$debs"
suite_lines > "$apt_dir/sources.list"
: > "$apt_dir/status"

apt_opts=(
	-o "Dir::Etc::sourcelist=$apt_dir/sources.list"
	-o "Dir::Etc::sourceparts=-"
	-o "Dir::Etc::preferencesparts=$apt_dir/etc/preferences.d"
	-o "Dir::Etc::parts=$apt_dir/etc/apt.conf.d"
	-o "Dir::State::Lists=$apt_dir/lists"
	-o "Dir::State::status=$apt_dir/status"
	-o "Dir::Cache=$apt_dir/cache"
	-o "APT::Architecture=amd64"
	-o "APT::Architectures::=amd64"
	-o "Acquire::Languages=none"
	-o "Acquire::Retries=2"
	-o "Acquire::http::Timeout=30"
	-o "APT::Get::List-Cleanup=0"
	-o "APT::Sandbox::User=root" # the cache belongs to root; _apt could not write it
)
apt_get() { timeout "$apt_timeout" apt-get -q "${apt_opts[@]}" "$@"; }
apt_cache() { apt-cache "${apt_opts[@]}" "$@"; }

stamp=$apt_dir/lists/.tw-updated
if [ ! -e "$stamp" ] || [ "$max_age" = 0 ] || [ -n "$(find "$stamp" -mmin +"$max_age")" ]; then
	log "apt-get update ($suite, $mirror)"
	# apt-get update only warns when an index cannot be fetched: look for the indexes
	if ! apt_get update >&2 || ! ls "$apt_dir"/lists/*_Packages* >/dev/null 2>&1; then
		log "apt-get update failed for $suite ($mirror): no package index"
		exit 4
	fi
	touch "$stamp"
fi

ver=$(apt_cache show atop 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
if [ -z "$ver" ]; then
	log "no atop package in $suite"
	exit 2
fi
# 2.9 is the first atop with the netatop-bpf client
if dpkg --compare-versions "$ver" lt 2.9; then
	log "atop $ver in $suite predates the netatop-bpf client (2.9)"
	exit 2
fi

# atop and the library packages it needs, transitively (Depends and Pre-Depends only). Only
# library packages (lib*, zlib1g) are followed: the init helpers atop's package also depends on
# are not needed to run the binary. libc6 brings the loader. The loader's check below catches a
# library this filter would miss.
pkgs=$(apt_cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
	--no-replaces --no-enhances atop 2>/dev/null |
	grep -v '^ ' | grep -E '^(atop|lib[^<>]*|zlib1g)$' | sort -u)
log "packages: $(tr "\n" " " <<<"$pkgs")"

for p in $pkgs; do
	if ! ls "$debs/${p}_"*.deb >/dev/null 2>&1; then
		log "apt-get download $p ($suite)"
		(cd "$debs" && apt_get download "$p" >&2) || { log "download of $p failed"; exit 4; }
	fi
done

tmp=$(mktemp -d "$cache/extract.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for p in $pkgs; do
	# the newest downloaded version of the package (a cache may hold older ones)
	deb=$(ls "$debs/${p}_"*.deb | sort -V | tail -n1)
	dpkg-deb -x "$deb" "$tmp/root"
done

# the wrapper: the suite's loader, the suite's libraries, then atop's arguments
loader=$(ls "$tmp/root"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 \
	"$tmp/root"/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$tmp/root"/lib64/ld-linux-x86-64.so.2 \
	2>/dev/null | head -n1 || true)
if [ -z "$loader" ]; then
	log "no dynamic loader in the extracted packages"
	exit 3
fi
loader=${loader#"$tmp/root/"}
cat > "$tmp/atop" <<EOF
#!/bin/sh
# atop $ver from Debian $suite, run through $suite's loader and libraries (fetch-atop.sh)
r=$out/root
exec "\$r/$loader" --library-path "\$r/lib/x86_64-linux-gnu:\$r/usr/lib/x86_64-linux-gnu" \\
	"\$r/usr/bin/atop" "\$@"
EOF
chmod 755 "$tmp/atop"

# every library atop needs must resolve inside the tree, never from the host
rm -rf "$out"
mkdir -p "$out"
mv "$tmp/root" "$out/root"
libs=$("$out/root/$loader" --library-path "$out/root/lib/x86_64-linux-gnu:$out/root/usr/lib/x86_64-linux-gnu" \
	--list "$out/root/usr/bin/atop" 2>&1) || { log "the loader cannot load atop: $libs"; rm -rf "$out"; exit 3; }
if grep -v -e "$out/root" -e 'linux-vdso' <<<"$libs" | grep -q '=>'; then
	log "libraries not taken from $suite's packages:"
	grep -v -e "$out/root" -e 'linux-vdso' <<<"$libs" >&2
	rm -rf "$out"
	exit 3
fi
if ! "$tmp/atop" -V >&2; then
	log "the extracted atop does not run"
	rm -rf "$out"
	exit 3
fi
mv "$tmp/atop" "$wrapper"
echo "$wrapper"
