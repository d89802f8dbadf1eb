#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# EventsTrace's help, man page and bash completion tell the same story.
# Usage: test_docs.sh EVENTSTRACE MANPAGE COMPLETION CLI_C
set -uo pipefail
ET=$1
MAN=$2
COMPLETION=$3
CLI_C=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); }

"$ET" --help > "$work/help" || { ko "EventsTrace --help exits 0"; echo "$pass passed, $fail failed"; exit 1; }

# The options --help documents: the first --name (and -x) of each option line. Written
# independently of help2doc.awk, so a parsing slip there shows up here.
grep -E '^ +(-[A-Za-z], )?--[a-z]' "$work/help" | sed -E 's/^ +//' |
  sed -E 's/^(-[A-Za-z]), (--[a-z0-9-]+).*/\1 \2/; s/^(--[a-z0-9-]+).*/\1/' | tr ' ' '\n' |
  sort -u > "$work/help_opts"
n=$(wc -l < "$work/help_opts")
if [ "$n" -ge 20 ]; then ok "--help lists $n options"; else ko "--help lists only $n options"; fi

# Every long option the parser accepts (long_opts in cli.c) is in --help: a new flag
# without a help line is caught here, before it is missing from the man page too.
grep -oE '^[[:space:]]*\{"[a-z0-9-]+", *(no|required|optional)_argument' "$CLI_C" |
  sed -E 's/.*\{"([a-z0-9-]+)".*/--\1/' | sort -u > "$work/parser_opts"
missing=$(comm -23 "$work/parser_opts" "$work/help_opts" | tr '\n' ' ')
if [ "$(wc -l < "$work/parser_opts")" -lt 20 ]; then
  ko "could not read long_opts from $CLI_C"
elif [ -z "$missing" ]; then
  ok "every option of the parser is in --help"
else
  ko "options the parser accepts but --help does not show: $missing"
fi

# The man page: renders without warnings, and names every option. Rendered to ASCII so
# \- becomes -, the way a reader sees it.
if command -v groff > /dev/null; then
  warnings=$(groff -man -ww -z "$MAN" 2>&1)
  if [ -z "$warnings" ]; then ok "man page renders without groff warnings"; else ko "groff warnings: $warnings"; fi
  groff -man -Tascii -P-cbou "$MAN" 2> /dev/null > "$work/man.txt"
else
  sed 's/\\-/-/g; s/\\f[BIRP]//g' "$MAN" > "$work/man.txt"
fi
missing=""
while read -r opt; do
  grep -qE -- "(^|[^a-z0-9-])${opt}([^a-z0-9-]|$)" "$work/man.txt" || missing="$missing $opt"
done < "$work/help_opts"
if [ -z "$missing" ]; then ok "every --help option is in the man page"; else ko "not in the man page:$missing"; fi
if grep -q "$("$ET" --version | awk '{print $2}')" "$MAN"; then ok "man page carries the version"; else ko "man page version differs from --version"; fi
# every description line of the help, word for word (squeezed spaces), is in the man page
tr -s ' \n' ' ' < "$work/man.txt" > "$work/man.flat"
sample=$(grep -E '^      --ship-backoff-ms' "$work/help" | sed -E 's/^ +--[a-z-]+ [^ ]+ +//')
if [ -n "$sample" ] && grep -qF -- "$sample" "$work/man.flat"; then ok "option descriptions are carried over"; else ko "description '$sample' not in the man page"; fi

# The completion: source it as bash-completion would, and ask it.
complete_words() { # words of the command line; the last is the one being completed
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  _EventsTrace
}
# shellcheck disable=SC1090
if ! source "$COMPLETION" || ! declare -F _EventsTrace > /dev/null; then
  ko "completion defines _EventsTrace"
else
  complete_words EventsTrace ""
  printf '%s\n' "${COMPREPLY[@]}" | sed 's/=$//' | sort -u > "$work/completed"
  missing=$(comm -23 "$work/help_opts" "$work/completed" | tr '\n' ' ')
  if [ -z "$missing" ]; then ok "every --help option is offered by the completion"; else ko "not completed: $missing"; fi
  extra=$(comm -13 "$work/help_opts" "$work/completed" | tr '\n' ' ')
  if [ -z "$extra" ]; then ok "the completion offers nothing --help does not document"; else ko "completed but undocumented: $extra"; fi
  complete_words EventsTrace --repl
  if [ "${COMPREPLY[*]}" = "--replay" ]; then ok "--repl completes to --replay"; else ko "--repl completed to '${COMPREPLY[*]}'"; fi
  touch "$work/rec-file.twr"
  complete_words EventsTrace --record "$work/rec-"
  if [ "${COMPREPLY[*]}" = "$work/rec-file.twr" ]; then ok "--record completes a file name"; else ko "--record completed to '${COMPREPLY[*]}'"; fi
  complete_words EventsTrace --stats-json = s
  if [ "${COMPREPLY[*]}" = "stderr stream" ]; then ok "--stats-json= completes its values"; else ko "--stats-json= completed to '${COMPREPLY[*]}'"; fi
  complete_words EventsTrace --ring-size ""
  if [ ${#COMPREPLY[@]} -eq 0 ]; then ok "a free value (--ring-size) completes to nothing"; else ko "--ring-size completed to '${COMPREPLY[*]}'"; fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
