# shellcheck shell=bash
# log.sh - logfmt lines from shell scripts, like common/log.h (sourced).
#
#   NLOG_PROC=start-all
#   nlog info "process exited" "name=model status=1"
# prints one line on stdout: ts=... level=info proc=start-all msg="..."
# followed by the fields as given (the caller quotes values with spaces).
# Lines below LOG_LEVEL (debug, info, warn, error; default info) are
# skipped, as in the C programs.

nlog_rank() {
	case $1 in
	debug) echo 0 ;; info) echo 1 ;; warn) echo 2 ;; error) echo 3 ;;
	*) echo 1 ;;
	esac
}

nlog() {
	local level=$1 msg=$2 fields=${3:-}
	[ "$(nlog_rank "$level")" -lt "$(nlog_rank "${LOG_LEVEL:-info}")" ] &&
		return 0
	msg=${msg//\\/\\\\}
	msg=${msg//\"/\\\"}
	printf 'ts=%s level=%s proc=%s msg="%s"%s\n' \
		"$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$level" \
		"${NLOG_PROC:-script}" "$msg" "${fields:+ $fields}"
}
