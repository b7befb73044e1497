#!/bin/bash
# model_worker.sh - namegen-model and namegen-cli end to end, over a real
# ipc socket with a real RPC secret: Meta, every Generate option, seeds,
# Score on training names, every bad input (INVALID_ARGUMENT naming the
# field), and the CLI's exit codes (0 ok, 1 the worker said no or was not
# there, 2 usage).
#
# The model is data/default.model when it is committed, else a small one
# trained here from data/names.tsv (kept in NAMEGEN_TEST_DIR for the other
# tests of the run).
set -u
root=${NAMEGEN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/lib/tap.sh"
. "$root/tests/integration/model_helpers.bash"
bin=${BIN:-$root/build/bin}
cli=$bin/namegen-cli

tmp=$(mktemp -d /tmp/namegen-model-test.XXXXXX)
worker_pid=
cleanup() {
	[ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null &&
		wait "$worker_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

model=$(model_test_model)
[ -f "$model" ] || { not_ok "a model to test with" "$(tail -5 "$tmp/train.log")"; tap_done; exit 1; }
export RPC_SECRET=model-worker-test-secret-0123456789
unset NAMEGEN_DEV
export MODEL_RPC_URL=ipc://$tmp/model.ipc

MODEL_PATH=$model "$bin/namegen-model" >"$tmp/worker.log" 2>&1 &
worker_pid=$!
for _ in $(seq 100); do
	"$cli" model meta >/dev/null 2>&1 && break
	sleep 0.1
done
"$cli" model meta >/dev/null 2>&1 && ok "the worker answers Meta" ||
	not_ok "the worker answers Meta" "$(tail -3 "$tmp/worker.log")"

# ---------------------------------------------------------------- Meta
"$cli" model meta >"$tmp/meta" 2>&1
grep -q "^countries (4[0-9]):" "$tmp/meta" && grep -q "  DE  Germany" "$tmp/meta" &&
	grep -q "genders: M F" "$tmp/meta" && grep -q "held-out loss" "$tmp/meta" &&
	ok "meta: countries with names, genders, loss" ||
	not_ok "meta: countries with names, genders, loss" "$(head -5 "$tmp/meta")"
"$cli" model meta --json >"$tmp/meta.json" 2>&1
grep -q '"max_length": [0-9]' "$tmp/meta.json" &&
	grep -q '"code": "IT"' "$tmp/meta.json" &&
	grep -q '"model_version": "1-' "$tmp/meta.json" &&
	grep -q '"parameters": [1-9]' "$tmp/meta.json" &&
	ok "meta --json: version, size, max length, countries" ||
	not_ok "meta --json" "$(head -c 400 "$tmp/meta.json")"
maxlen=$(sed -n 's/.*"max_length": \([0-9]*\).*/\1/p' "$tmp/meta.json")

# names FILE prints the names of a --json Generate reply, one a line.
names() { sed -n 's/^ *"name": "\(.*\)",$/\1/p' "$1"; }
# chars S counts the characters (not bytes) of S.
chars() { printf '%s' "$1" | LC_ALL=C.UTF-8 wc -m; }

# ------------------------------------------------------------ Generate
"$cli" model generate --country DE --country IT:0.3 --gender F \
	--prefix Ma -n 10 --json >"$tmp/g1" 2>&1
rc=$?
n=$(names "$tmp/g1" | wc -l)
bad=$(names "$tmp/g1" | grep -vc '^Ma')
[ $rc -eq 0 ] && [ "$n" -eq 10 ] && [ "$bad" -eq 0 ] &&
	ok "generate: 10 names, all starting with the prefix" ||
	not_ok "generate: 10 names with the prefix" "rc=$rc n=$n bad=$bad $(head -c 300 "$tmp/g1")"
grep -q '"log_prob": -[0-9]' "$tmp/g1" && grep -q '"in_training_data": ' "$tmp/g1" &&
	ok "generate: each name has its log_prob and training flag" ||
	not_ok "generate: log_prob and training flag" "$(head -c 300 "$tmp/g1")"

"$cli" model generate --country DE --country IT:0.3 --gender F \
	--prefix Ma -n 10 >"$tmp/human" 2>&1
[ "$(grep -c '^Ma' "$tmp/human")" -eq 10 ] &&
	ok "generate: human-readable output, one name a line" ||
	not_ok "generate: human output" "$(cat "$tmp/human")"

# Seeds: same request and seed, same names; another seed, others.
gen_seed() { "$cli" model generate --country FR --gender M -n 8 --seed "$1" --json; }
gen_seed 42 >"$tmp/s1" 2>&1
gen_seed 42 >"$tmp/s2" 2>&1
gen_seed 43 >"$tmp/s3" 2>&1
cmp -s "$tmp/s1" "$tmp/s2" && [ "$(names "$tmp/s1" | wc -l)" -eq 8 ] &&
	ok "seed: the same seed gives the same names and log-probs" ||
	not_ok "seed: same seed, same names" "$(diff "$tmp/s1" "$tmp/s2" | head)"
[ "$(names "$tmp/s1")" != "$(names "$tmp/s3")" ] &&
	ok "seed: another seed gives other names" ||
	not_ok "seed: another seed gives other names"

# Unique by default; duplicates when allowed.
"$cli" model generate --country US -n 60 --json --seed 7 >"$tmp/u" 2>&1
dups=$(names "$tmp/u" | sort | uniq -d | wc -l)
[ "$(names "$tmp/u" | wc -l)" -eq 60 ] && [ "$dups" -eq 0 ] &&
	ok "unique: 60 names, no duplicate" ||
	not_ok "unique: 60 names, no duplicate" "dups=$dups"
"$cli" model generate --country IT --prefix Mari --max 6 -n 30 \
	--allow-duplicates --seed 3 --json >"$tmp/d" 2>&1
[ "$(names "$tmp/d" | wc -l)" -eq 30 ] &&
	[ "$(names "$tmp/d" | sort | uniq -d | wc -l)" -gt 0 ] &&
	ok "allow-duplicates: 30 names of at most 6 chars after Mari, some twice" ||
	not_ok "allow-duplicates" "$(names "$tmp/d" | tr '\n' ' ')"

# Novel: none of the names is in the training data.
"$cli" model generate --country ES --gender F -n 20 --novel --json \
	--seed 11 >"$tmp/nv" 2>&1
[ "$(names "$tmp/nv" | wc -l)" -eq 20 ] &&
	! grep -q '"in_training_data": true' "$tmp/nv" &&
	ok "novel: 20 names, none in the training data" ||
	not_ok "novel" "$(head -c 400 "$tmp/nv")"
intrain=0
for nm in $(names "$tmp/u"); do
	cut -f3 "$root/data/names.tsv" | grep -qxF "$nm" && intrain=$((intrain + 1))
done
flagged=$(grep -c '"in_training_data": true' "$tmp/u")
[ "$intrain" -eq "$flagged" ] &&
	ok "in_training_data matches data/names.tsv ($flagged of 60)" ||
	not_ok "in_training_data matches data/names.tsv" "grep=$intrain flagged=$flagged"

# Lengths, in characters.
"$cli" model generate --country RU --min 6 --max 8 -n 25 --json \
	--seed 5 >"$tmp/len" 2>&1
badlen=0
while IFS= read -r nm; do
	c=$(chars "$nm")
	{ [ "$c" -lt 6 ] || [ "$c" -gt 8 ]; } && badlen=$((badlen + 1))
done < <(names "$tmp/len")
[ "$(names "$tmp/len" | wc -l)" -eq 25 ] && [ "$badlen" -eq 0 ] &&
	ok "lengths: 25 names of 6 to 8 characters (Cyrillic counted as characters)" ||
	not_ok "lengths 6..8" "bad=$badlen $(names "$tmp/len" | tr '\n' ' ')"

# Top-k 1 is greedy: every attempt makes the same name, so asking for 3
# unique ones ends incomplete with 1, and says why.
"$cli" model generate --country DE --gender M --top-k 1 -n 3 \
	>"$tmp/greedy" 2>&1
rc=$?
[ $rc -eq 0 ] && [ "$(grep -vc '^incomplete' "$tmp/greedy")" -eq 1 ] &&
	grep -q '^incomplete: found 1 of 3 names in 24 attempts' "$tmp/greedy" &&
	grep -q 'duplicates' "$tmp/greedy" &&
	ok "top-k 1: one name, incomplete, with the reason" ||
	not_ok "top-k 1" "$(cat "$tmp/greedy")"
# A low temperature concentrates: fewer distinct names than at 2.0.
"$cli" model generate --country DE --gender M --temperature 0.2 -n 40 \
	--allow-duplicates --seed 1 --json >"$tmp/cold" 2>&1
"$cli" model generate --country DE --gender M --temperature 2 -n 40 \
	--allow-duplicates --seed 1 --json >"$tmp/hot" 2>&1
cold=$(names "$tmp/cold" | sort -u | wc -l)
hot=$(names "$tmp/hot" | sort -u | wc -l)
[ "$cold" -lt "$hot" ] && [ "$(names "$tmp/hot" | wc -l)" -eq 40 ] &&
	ok "temperature: 0.2 gives fewer distinct names ($cold) than 2 ($hot)" ||
	not_ok "temperature" "cold=$cold hot=$hot"
# Impossible constraints end, incomplete, without looping.
"$cli" model generate --country DE --novel --max 2 -n 100 --json \
	>"$tmp/imp" 2>&1
grep -q '"incomplete": true' "$tmp/imp" && grep -q '"attempts": 800' "$tmp/imp" &&
	ok "impossible constraints: incomplete after 8 attempts per name" ||
	not_ok "impossible constraints" "$(tail -c 300 "$tmp/imp")"

# ----------------------------------------------------------- bad input
# refused WHAT FIELD ARGS...: exit 1 and INVALID_ARGUMENT naming FIELD.
refused() {
	local what=$1 field=$2 rc
	shift 2
	"$cli" model "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -eq 1 ] && grep -q "INVALID_ARGUMENT: $field" "$tmp/err"; then
		ok "refused: $what"
	else
		not_ok "refused: $what" "rc=$rc $(cat "$tmp/err")"
	fi
}
refused "unknown country" "countries\[0\].code: unknown country \"XX\"" \
	generate --country XX
refused "a country twice" "countries\[1\].code: de is listed twice" \
	generate --country DE --country de
refused "no country" "countries: at least one" generate
refused "prefix outside the alphabet" 'prefix: the character "☃"' \
	generate --country DE --prefix "Ma☃"
refused "prefix longer than max length" \
	"prefix: 5 characters is longer than max_length 3" \
	generate --country DE --prefix Maria --max 3
refused "min above max" "min_length: 9 is above max_length 4" \
	generate --country DE --min 9 --max 4
refused "max above the model's" "max_length: must be at most $maxlen" \
	generate --country DE --max 99
refused "count 101" "count: must be 1..100, not 101" \
	generate --country DE -n 101
refused "temperature 3" "temperature: must be in (0, 2]" \
	generate --country DE --temperature 3
refused "top-k past the alphabet" "top_k: must be 0.." \
	generate --country DE --top-k 5000
refused "empty name to score" "name: must not be empty" score ""
refused "name outside the alphabet" 'name: the character "☃"' score "Gi☃"
refused "name too long" "name: longer than" \
	score "Abcdefghijabcdefghijabcdefghijabcdefghij"

# usage WHAT ARGS...: exit 2, nothing sent.
usage() {
	local what=$1 rc
	shift
	"$cli" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && [ -s "$tmp/err" ] && ok "usage error: $what" ||
		not_ok "usage error: $what" "rc=$rc $(cat "$tmp/err")"
}
usage "unknown option" model generate --bogus
usage "bad gender" model generate --country DE --gender X
usage "negative weight" model generate --country DE:-1
usage "weight not a number" model generate --country DE:nan
usage "score without a name" model score
usage "unknown subcommand" model frobnicate
usage "unknown command" frobnicate
usage "bench bad clients" bench --clients 0

# ---------------------------------------------------------------- Score
"$cli" model score Giulia >"$tmp/score" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^Giulia: log-likelihood -' "$tmp/score" &&
	grep -qE '^  F +[0-9.]+%' "$tmp/score" &&
	ok "score: countries and genders, best first" ||
	not_ok "score Giulia" "$(cat "$tmp/score")"
"$cli" model score --json --all Giulia >"$tmp/score.json" 2>&1
ncodes=$(grep -c '"code":' "$tmp/score.json")
[ "$ncodes" -ge 40 ] &&
	ok "score --all --json: every country ($ncodes)" ||
	not_ok "score --all --json" "$(head -c 300 "$tmp/score.json")"
# The probabilities of the countries sum to 1.
sum=$(sed -n 's/.*"probability": \([0-9.e-]*\).*/\1/p' "$tmp/score.json" |
	head -n "$ncodes" | awk '{s += $1} END {printf "%.3f", s}')
[ "$sum" = "1.000" ] && ok "score: country probabilities sum to 1" ||
	not_ok "score: country probabilities sum to 1" "sum=$sum"

# On training names listed in one country only, the true country is in
# the top five for most of a sample (chance would be 5 in 42).
awk -F'\t' 'NR > 1 { n[$3]++; c[$3] = $1 }
	END { for (k in n) if (n[k] == 1 && k !~ / /) print c[k] "\t" k }' \
	"$root/data/names.tsv" | sort | awk 'NR % 97 == 0' | head -40 >"$tmp/sample"
hits=0
total=0
while IFS=$'\t' read -r code nm; do
	total=$((total + 1))
	"$cli" model score "$nm" 2>/dev/null | sed -n '2,6p' |
		grep -q "^  $code " && hits=$((hits + 1))
done <"$tmp/sample"
[ "$total" -ge 30 ] && [ $((hits * 2)) -gt "$total" ] &&
	ok "score: true country in the top 5 for $hits of $total training names" ||
	not_ok "score: true country in the top 5 for most names" "$hits of $total"

# ------------------------------------------------------ auth and reach
RPC_SECRET=another-secret-0123456789abcdef "$cli" model meta >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q "UNAUTHENTICATED\|not authenticated" "$tmp/err" &&
	ok "a client with the wrong secret is refused (exit 1)" ||
	not_ok "wrong secret refused" "rc=$rc $(cat "$tmp/err")"
env -u RPC_SECRET "$cli" model meta >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -q "RPC_SECRET" "$tmp/err" &&
	ok "no secret and no NAMEGEN_DEV: usage error naming RPC_SECRET" ||
	not_ok "no secret" "rc=$rc $(cat "$tmp/err")"
"$cli" model meta --url "ipc://$tmp/nobody.ipc" --timeout 500 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && ok "no worker at the URL: exit 1 ($(head -c 60 "$tmp/err"))" ||
	not_ok "no worker at the URL" "rc=$rc $(cat "$tmp/err")"

# ------------------------------------------------- refusing to start
# refuses_start WHAT WANT VAR=VALUE...: exit 2 with a fatal line holding
# WANT, and nothing served.
refuses_start() {
	local what=$1 want=$2 rc
	shift 2
	env MODEL_PATH="$model" MODEL_RPC_URL="ipc://$tmp/never.ipc" "$@" \
		timeout 10 "$bin/namegen-model" >"$tmp/start.log" 2>&1
	rc=$?
	[ $rc -eq 2 ] && grep -q "level=fatal.*$want" "$tmp/start.log" &&
		ok "refuses to start: $what" ||
		not_ok "refuses to start: $what" "rc=$rc $(cat "$tmp/start.log")"
}
refuses_start "a missing model file" 'path=/nonexistent/m.model error=' \
	MODEL_PATH=/nonexistent/m.model
refuses_start "a batch size of 0" "MODEL_BATCH_MAX must be between 1 and" \
	MODEL_BATCH_MAX=0
refuses_start "a malformed URL" "MODEL_RPC_URL: .*is not an nng address" \
	MODEL_RPC_URL=foo://x
refuses_start "no RPC_SECRET outside development" "RPC_SECRET is required" \
	RPC_SECRET=
head -c 5000 "$model" >"$tmp/truncated.model"
refuses_start "a truncated model file" 'cannot load the model' \
	MODEL_PATH="$tmp/truncated.model"

# --------------------------------------------------------------- logs
grep -q 'msg=serving .*batch_max=' "$tmp/worker.log" &&
	grep -q 'msg=call method=Generate status=INVALID_ARGUMENT' "$tmp/worker.log" &&
	! grep -q "$RPC_SECRET" "$tmp/worker.log" &&
	ok "logfmt: a startup line, one line per call, no secret" ||
	not_ok "worker logs" "$(head -3 "$tmp/worker.log")"

kill -TERM "$worker_pid"
wait "$worker_pid"
rc=$?
worker_pid=
[ $rc -eq 0 ] && grep -q 'msg=stopped' "$tmp/worker.log" &&
	ok "SIGTERM: the worker exits 0" || not_ok "SIGTERM exit" "rc=$rc"
tap_done
