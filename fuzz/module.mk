# fuzz/: the fuzz targets of tests/fuzz/ (libFuzzer) and their replay.
#
#   make fuzz                 build the libFuzzer targets with clang into
#                             build-fuzz/ and run each for FUZZ_SECONDS
#                             (default 10) from its committed corpus
#   make fuzz FUZZ_TARGETS=dataset FUZZ_SECONDS=600   one target, longer
#   make fuzz-seeds           rewrite the seeds under tests/fuzz/corpus/
#
# The test command does not need libFuzzer: each target is also linked
# with tests/fuzz/fuzz_replay.c into $(BUILD)/tests/fuzz_replay_<target>,
# which tests/integration/fuzz_replay.sh runs over the corpus in the
# normal and the sanitizer builds. Inputs libFuzzer finds go to
# build-fuzz/corpus/<target>/; crashes to build-fuzz/artifacts/.
FUZZ_TARGETS  ?= envelope gateway_map model_request auth_request \
		 model_file dataset
FUZZ_ALL      := envelope gateway_map model_request auth_request \
		 model_file dataset
FUZZ_SECONDS  ?= 10
FUZZ_DIR      := build-fuzz
FUZZ_SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined \
		 -fno-sanitize-recover=all -fno-omit-frame-pointer
# Module libraries by path: their variables are defined by fragments
# read after this one.
FUZZ_LIBS = $(BUILD)/libgateway.a $(BUILD)/libauth.a $(BUILD)/libmodel.a \
	    $(BUILD)/libcommon.a $(LIBPROTO)
FUZZ_REPLAYS := $(FUZZ_ALL:%=$(BUILD)/tests/fuzz_replay_%)
FUZZ_HELPER  := $(BUILD)/tests/fuzz/fuzz_tiny.o

TESTS += $(FUZZ_REPLAYS) $(BUILD)/tests/fuzz_seeds

$(BUILD)/tests/fuzz_replay_%: EXTRA_LIBS = $(TEST_LIBS)
$(BUILD)/tests/fuzz_replay_%: $(BUILD)/tests/fuzz/fuzz_%.o \
		$(BUILD)/tests/fuzz/fuzz_replay.o $(FUZZ_HELPER) $(FUZZ_LIBS)
	$(link)

$(BUILD)/tests/fuzz_seeds: EXTRA_LIBS = $(TEST_LIBS)
$(BUILD)/tests/fuzz_seeds: $(BUILD)/tests/fuzz/fuzz_seeds.o $(FUZZ_HELPER) \
		$(FUZZ_LIBS)
	$(link)

# The libFuzzer binaries (only built inside the sub-make below).
$(BUILD)/fuzz/fuzz_%: EXTRA_LIBS = $(TEST_LIBS)
$(BUILD)/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_HELPER) \
		$(FUZZ_LIBS)
	$(link)

.PHONY: fuzz fuzz-build fuzz-seeds
# clang does not know two of gcc's warning options; the gcc builds hold
# -Werror, so here warnings are shown without failing the build.
FUZZ_WARN := $(filter-out -Werror -Wformat-overflow=2 -Wno-format-truncation,\
	       $(WARN))
fuzz-build:
	$(MAKE) BUILD=$(FUZZ_DIR) CC=clang SANFLAGS="$(FUZZ_SANFLAGS)" \
		WARN="$(FUZZ_WARN)" LDFLAGS=-fsanitize=fuzzer \
		$(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz/fuzz_%)

fuzz: fuzz-build
	@mkdir -p $(FUZZ_DIR)/artifacts
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_DIR)/corpus/$$t; \
		echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
		ASAN_OPTIONS=detect_leaks=1 \
		$(FUZZ_DIR)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
			-rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- \
			$(FUZZ_DIR)/corpus/$$t tests/fuzz/corpus/$$t \
			2>$(FUZZ_DIR)/fuzz_$$t.log || { \
			tail -40 $(FUZZ_DIR)/fuzz_$$t.log; exit 1; }; \
		grep -E '^stat::number_of_executed_units|^Done' \
			$(FUZZ_DIR)/fuzz_$$t.log | tr '\n' ' '; echo; \
	done

fuzz-seeds: $(BUILD)/tests/fuzz_seeds
	$(BUILD)/tests/fuzz_seeds tests/fuzz/corpus

# The soak (tests/bench/soak_run.sh): the whole stack under wrk with a
# mixed workload at 256 connections for SOAK_SECONDS (60); it starts its
# own PostgreSQL and Redis.
.PHONY: soak
soak: $(BUILD)/bin/gateway $(BUILD)/bin/namegen-model \
      $(BUILD)/bin/auth-service
	@BUILD=$(BUILD) bash tests/bench/soak_run.sh
