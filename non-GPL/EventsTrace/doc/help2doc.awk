# SPDX-License-Identifier: Apache-2.0
#
# Turns `EventsTrace --help` into its man page (mode=man) or its bash
# completion (mode=bash), so the help text in cli.c (tw_cli_usage) is the only
# place an option is described: a new flag with a help line needs no other edit.
#
#   awk -v mode=man  -v version="EventsTrace 0.1.0 (wire format 1)" -f help2doc.awk help.txt
#   awk -v mode=bash -f help2doc.awk help.txt
#
# What it relies on in the help text (testing/install/test_docs.sh checks the result):
#   "Usage: NAME ..." first, then one line describing the program;
#   a section header is a line that starts in column 0 and ends with ':';
#   an option line starts with "  -x, --name" or "      --name", followed by its argument
#   ("[=ARG]" optional, " ARG" required: an upper-case word such as FILE, DIR|ID, MIN[,MAX]),
#   then the description; deeper-indented lines continue the description;
#   in "Examples:", "  command   what it does", continued the same way.
# Portable awk (Debian's default is mawk): no gensub, no match() arrays.

function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }

# roff text: backslashes first, then hyphens (so they do not become U+2010), and a line
# must not start with a control character.
function roff(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	if (s ~ /^[.']/) s = "\\&" s
	return s
}

function flush_entry() {
	if (kind == "option") {
		n_opt++
		opt_short[n_opt] = cur_short; opt_long[n_opt] = cur_long
		opt_arg[n_opt] = cur_arg; opt_argkind[n_opt] = cur_argkind
		opt_desc[n_opt] = cur_desc; opt_section[n_opt] = cur_section
	} else if (kind == "example") {
		n_ex++
		ex_cmd[n_ex] = cur_cmd; ex_desc[n_ex] = cur_desc
	}
	kind = ""
}

NR == 1 {
	if ($0 !~ /^Usage: /) { print "help2doc: the help does not start with 'Usage:'" > "/dev/stderr"; exit 2 }
	usage = substr($0, 8); prog = usage; sub(/ .*/, "", prog)
	next
}
NR == 2 { summary = $0; next }

/^[^ \t].*:$/ {
	flush_entry()
	n_sec++; section[n_sec] = substr($0, 1, length($0) - 1); cur_section = n_sec
	in_examples = (section[n_sec] == "Examples")
	next
}

/^$/ { flush_entry(); next }

/^  -[A-Za-z], --[a-z]/ || /^      --[a-z]/ {
	flush_entry()
	line = trim($0)
	cur_short = ""
	if (line ~ /^-[A-Za-z], /) { cur_short = substr(line, 1, 2); line = substr(line, 5) }
	match(line, /^--[a-z0-9][a-z0-9-]*/)
	cur_long = substr(line, 1, RLENGTH); line = substr(line, RLENGTH + 1)
	cur_arg = ""; cur_argkind = "none"
	if (match(line, /^\[=[^]]*\]/)) {
		cur_arg = substr(line, 3, RLENGTH - 3); cur_argkind = "optional"
		line = substr(line, RLENGTH + 1)
	} else if (match(line, /^ [A-Z][A-Z0-9_|,\[\]]*/)) {
		cur_arg = substr(line, 2, RLENGTH - 1); cur_argkind = "required"
		line = substr(line, RLENGTH + 1)
	}
	cur_desc = trim(line)
	kind = "option"
	next
}

in_examples && /^  [^ ]/ {
	flush_entry()
	line = trim($0)
	# the command ends where a run of two or more spaces begins
	if (match(line, /   */) && RSTART > 1) {
		cur_cmd = substr(line, 1, RSTART - 1); cur_desc = trim(substr(line, RSTART))
	} else {
		cur_cmd = line; cur_desc = ""
	}
	kind = "example"
	next
}

/^    / && kind != "" { cur_desc = trim(cur_desc " " trim($0)); next }

{
	flush_entry()
	n_free++; free_text[n_free] = trim($0); free_section[n_free] = cur_section
}

function man_tag(i,    t) {
	t = ""
	if (opt_short[i] != "") t = "\\fB" roff(opt_short[i]) "\\fR, "
	t = t "\\fB" roff(opt_long[i]) "\\fR"
	if (opt_argkind[i] == "optional") t = t "[=\\fI" roff(opt_arg[i]) "\\fR]"
	else if (opt_argkind[i] == "required") t = t " \\fI" roff(opt_arg[i]) "\\fR"
	return t
}

function emit_man(    i, s, up) {
	up = toupper(prog)
	print ".\\\" Generated from `" prog " --help` by non-GPL/EventsTrace/doc/help2doc.awk: do not edit."
	print ".\\\" The text lives in tw_cli_usage() (non-GPL/EventsTrace/cli.c)."
	print ".TH " up " 8 \"\" \"" roff(version) "\" \"System Administration\""
	print ".nh"
	print ".SH NAME"
	print roff(prog) " \\- " roff(summary)
	print ".SH SYNOPSIS"
	print ".B " roff(prog)
	s = usage; sub(/^[^ ]* ?/, "", s)
	if (s != "") print roff(s)
	print ".SH DESCRIPTION"
	print roff(summary)
	print ".PP"
	print "Tracing loads eBPF probes into the running kernel and needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN and CAP_NET_ADMIN); decoding a recording does not."
	print ".SH OPTIONS"
	for (s = 1; s <= n_sec; s++) {
		if (section[s] == "Examples") continue
		print ".SS \"" roff(section[s]) "\""
		for (i = 1; i <= n_free; i++) if (free_section[i] == s) { print ".PP"; print roff(free_text[i]) }
		for (i = 1; i <= n_opt; i++) {
			if (opt_section[i] != s) continue
			print ".TP"
			print man_tag(i)
			print roff(opt_desc[i])
		}
	}
	if (n_ex) {
		print ".SH EXAMPLES"
		for (i = 1; i <= n_ex; i++) {
			print ".TP"
			print ".B " roff(ex_cmd[i])
			print roff(ex_desc[i] != "" ? ex_desc[i] : " ")
		}
	}
	print ".SH SEE ALSO"
	print "\\fBbpftool\\fR(8); the project's docs/events.md (event schema), docs/shipper.md (shipping) and docs/library.md (the library behind " roff(prog) ")."
}

# bash: every option for "-<TAB>", and per option what its argument is completed with.
function emit_bash(    i, words, files, dirs, pids, choices, a, lo, fn) {
	fn = "_" prog
	gsub(/[^A-Za-z0-9_]/, "_", fn)
	words = ""; files = ""; dirs = ""; pids = ""; choices = ""
	for (i = 1; i <= n_opt; i++) {
		lo = opt_long[i]
		if (opt_short[i] != "") words = words " " opt_short[i]
		if (opt_argkind[i] == "optional") words = words " " lo " " lo "="
		else words = words " " lo
		if (opt_argkind[i] == "none") continue
		a = opt_arg[i]
		if (a ~ /^[a-z][a-z0-9|-]*$/) {
			gsub(/\|/, " ", a)
			choices = choices "\t\t" lo ") COMPREPLY=($(compgen -W '" a "' -- \"$cur\")); return ;;\n"
		} else if (a ~ /FILE|PATH/) files = files "|" lo
		else if (a ~ /DIR/) dirs = dirs "|" lo
		else if (a ~ /^PID$/) pids = pids "|" lo
		else if (opt_argkind[i] == "required") valued = valued "|" lo
	}
	print "# SPDX-License-Identifier: Apache-2.0"
	print "# bash completion for " prog ", generated from `" prog " --help` by"
	print "# non-GPL/EventsTrace/doc/help2doc.awk: do not edit."
	print fn "()"
	print "{"
	print "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} opt"
	print "\tCOMPREPLY=()"
	print "\t# --opt=value: bash splits at '=' (COMP_WORDBREAKS), so prev is '=' and the option is before it"
	print "\tif [[ $prev == = && $COMP_CWORD -ge 2 ]]; then opt=${COMP_WORDS[COMP_CWORD-2]}; else opt=$prev; fi"
	print "\tcase $opt in"
	if (choices != "") printf "%s", choices
	if (files != "") print "\t\t" substr(files, 2) ") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;"
	if (dirs != "") print "\t\t" substr(dirs, 2) ") COMPREPLY=($(compgen -d -- \"$cur\")); return ;;"
	if (pids != "") print "\t\t" substr(pids, 2) ") COMPREPLY=($(compgen -W \"$(cd /proc 2> /dev/null && echo [0-9]*)\" -- \"$cur\")); return ;;"
	if (valued != "") print "\t\t" substr(valued, 2) ") return ;; # a value only the user knows"
	print "\tesac"
	print "\t[[ $prev == = ]] && return # an optional value, e.g. --stats=SECONDS"
	print "\tCOMPREPLY=($(compgen -W '" substr(words, 2) "' -- \"$cur\"))"
	print "\t# no space after an option that ends in '=': its value follows directly"
	print "\t[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2> /dev/null"
	print "\treturn 0"
	print "}"
	print "complete -F " fn " " prog
}

END {
	flush_entry()
	if (n_opt == 0) { print "help2doc: no option found in the help" > "/dev/stderr"; exit 2 }
	if (mode == "man") emit_man()
	else if (mode == "bash") emit_bash()
	else { print "help2doc: mode must be man or bash" > "/dev/stderr"; exit 2 }
}
