#!/bin/sh
# deps.sh - install the Debian packages namegen needs, when any is missing.
#
# The list lives in deploy/debian-packages.txt (one name a line, # starts a
# comment) so that make test, make run and the Heroku build read the same
# file. Runs apt-get only when something is missing; as root or via sudo.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
list="$here/deploy/debian-packages.txt"
want=$(sed -e 's/#.*//' "$list" | tr -s ' \t' '\n' | sed '/^$/d')
missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
echo "level=info msg=\"installing missing packages\" packages=\"$missing\""
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
