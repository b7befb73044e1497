#!/bin/bash
# model_train.sh - namegen-train as a program: it trains on a small TSV
# with a few bad lines (reported with file:line, skipped), logs one
# logfmt line per epoch when stdout is not a terminal, writes a model
# file, and refuses unusable data with exit status 2 and a clear line.
set -u
. "$NAMEGEN_ROOT/tests/lib/tap.sh"

dir=$(mktemp -d "${NAMEGEN_TEST_DIR:-/tmp}/model_train.XXXXXX")
trap 'rm -rf "$dir"' EXIT
train=$BIN/namegen-train

{
	printf 'country\tgender\tname\n'
	head -400 "$NAMEGEN_ROOT/data/names.tsv" | tail -n +2
	printf 'AT\tX\tBadgender\n'
	printf 'AT\tF\n'
	tail -300 "$NAMEGEN_ROOT/data/names.tsv"
} >"$dir/small.tsv"

"$train" --hidden 16 --emb-char 8 --emb-country 4 --emb-gender 2 \
	--epochs 3 --patience 5 --batch 32 \
	--countries "$NAMEGEN_ROOT/data/countries.tsv" \
	"$dir/small.tsv" "$dir/small.model" >"$dir/out.log" 2>&1
rc=$?
[ "$rc" -eq 0 ] && ok "trains on a small TSV" ||
	not_ok "trains on a small TSV" "exit $rc: $(tail -3 "$dir/out.log")"

grep -q "where=.*small.tsv:401: unknown gender" "$dir/out.log" &&
	ok "an unknown gender is reported with file:line" ||
	not_ok "an unknown gender is reported with file:line"
grep -q "where=.*small.tsv:402: 2 columns" "$dir/out.log" &&
	ok "a short line is reported with file:line" ||
	not_ok "a short line is reported with file:line"
grep -q "msg=training .*bad_lines=2 " "$dir/out.log" &&
	ok "bad lines are counted" || not_ok "bad lines are counted"

n=$(grep -c "msg=epoch epoch=" "$dir/out.log")
[ "$n" -eq 3 ] && ok "one logfmt line per epoch off a terminal" ||
	not_ok "one logfmt line per epoch off a terminal" "got $n"
grep -q $'\r' "$dir/out.log" && not_ok "no progress bar in a log" ||
	ok "no progress bar in a log"

magic=$(head -c 8 "$dir/small.model" 2>/dev/null)
[ "$magic" = NAMEGENM ] && ok "the model file is written" ||
	not_ok "the model file is written"
grep -q 'msg="model written" .*heldout_loss=' "$dir/out.log" &&
	ok "the held-out loss is logged" || not_ok "the held-out loss is logged"

# Unusable data: every line bad.
printf 'country\tgender\tname\nat\tF\tAnna\nAT\tQ\tBo\n' >"$dir/bad.tsv"
"$train" --epochs 1 "$dir/bad.tsv" "$dir/bad.model" >"$dir/bad.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] && ok "unusable data exits 2" ||
	not_ok "unusable data exits 2" "exit $rc"
grep -q 'level=error .*bad.tsv' "$dir/bad.log" &&
	ok "the error names the file" || not_ok "the error names the file"
[ ! -e "$dir/bad.model" ] && ok "no model is written for bad data" ||
	not_ok "no model is written for bad data"

"$train" --hidden nope "$dir/small.tsv" "$dir/x.model" >"$dir/arg.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--hidden" "$dir/arg.log" &&
	ok "a bad flag value exits 2 naming the flag" ||
	not_ok "a bad flag value exits 2 naming the flag" "exit $rc"

tap_done
