#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Build step: the man page and the bash completion of EventsTrace from its own
# --help and --version (help2doc.awk), so they cannot disagree with the binary.
# Usage: gen-docs.sh EVENTSTRACE OUTDIR
set -eu
et=$1
out=$2
here=$(dirname "$0")
"$et" --help > "$out/EventsTrace.help"
version=$("$et" --version)
awk -v mode=man -v version="$version" -f "$here/help2doc.awk" "$out/EventsTrace.help" > "$out/EventsTrace.8.tmp"
awk -v mode=bash -f "$here/help2doc.awk" "$out/EventsTrace.help" > "$out/EventsTrace.bash.tmp"
mv "$out/EventsTrace.8.tmp" "$out/EventsTrace.8"
mv "$out/EventsTrace.bash.tmp" "$out/EventsTrace.bash"
