# model_helpers.bash - what the model_*.sh tests share (sourced by bash;
# not a test itself: tests/run runs only *.sh).
#
#   model_test_model      prints the model file to test with: the
#                         committed data/default.model, else a small one
#                         trained once per test run from data/names.tsv
#                         (kept in NAMEGEN_TEST_DIR, else in $tmp)
# Needs root, bin and tmp set by the caller.

model_test_model() {
	local cache=${NAMEGEN_TEST_DIR:-$tmp}/model-test.model train
	if [ -f "$root/data/default.model" ]; then
		echo "$root/data/default.model"
		return
	fi
	if [ ! -f "$cache" ]; then
		# The normal build's trainer is faster than the sanitizer's.
		train=$root/build/bin/namegen-train
		[ -x "$train" ] || train=$bin/namegen-train
		"$train" --hidden 64 --emb-char 16 --epochs 6 --seed 1 \
			--countries "$root/data/countries.tsv" \
			"$root/data/names.tsv" "$cache.tmp" >"$tmp/train.log" 2>&1 &&
			mv "$cache.tmp" "$cache"
	fi
	echo "$cache"
}
