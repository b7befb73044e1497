# namegen-model/: the GRU, the model file, the training data reader and
# the trainer (namegen-train). The model worker's own files (main.c,
# batcher, sampler, scorer, worker*) join LIBMODEL's sources below when
# they are added; their main.c is excluded from the library.
MODEL_MAINS := namegen-model/main.c namegen-model/train_main.c
MODEL_SRCS  := $(filter-out $(MODEL_MAINS),$(wildcard namegen-model/*.c))
MODEL_OBJS  := $(MODEL_SRCS:%.c=$(BUILD)/%.o)
LIBMODEL    := $(BUILD)/libmodel.a

$(LIBMODEL): $(MODEL_OBJS)
	$(AR) rcs $@ $^

# vmath.c passes 32-byte vectors between its static inline helpers; GCC
# notes that such arguments changed ABI long ago, which does not concern
# calls that are all inlined.
$(BUILD)/namegen-model/vmath.o: WARN += -Wno-psabi

PROGRAMS += $(BUILD)/bin/namegen-train

$(BUILD)/bin/namegen-train: $(BUILD)/namegen-model/train_main.o $(LIBMODEL) \
		$(LIBCOMMON)
	$(link)

# Benchmarks (built by `make tests`, run by the targets below).
BENCHES += $(BUILD)/bench/bench_quality_makemore $(BUILD)/bench/bench_gru

$(BUILD)/bench/bench_quality_makemore: \
		$(BUILD)/tests/bench/bench_quality_makemore.o $(LIBMODEL)
	$(link)

$(BUILD)/bench/bench_gru: $(BUILD)/tests/bench/bench_gru.o $(LIBMODEL)
	$(link)

# The makemore quality run: minutes, so outside `make test`.
.PHONY: bench-quality bench-gru model
bench-quality: $(BUILD)/bench/bench_quality_makemore
	$(BUILD)/bench/bench_quality_makemore $(BENCH_QUALITY_FLAGS) \
		data/makemore-names.txt

bench-gru: $(BUILD)/bench/bench_gru
	$(BUILD)/bench/bench_gru data/names.tsv

# The default model, from data/names.tsv with fixed seeds: sized for
# serving (one GRU layer of 224: 64 clients at p99 under 25 ms on 2
# cores; README, The model). MODEL_SIZE_FLAGS=$(MODEL_2X256_FLAGS) gives
# the earlier default, 2 layers of 256: 0.04 nats per character better,
# 3 times the FLOPs per character (make model-2x256 writes it beside the
# build, not over data/default.model).
MODEL_SERVE_FLAGS := --layers 1 --hidden 224 --emb-char 64 \
	--emb-country 32 --dropout 0.1
MODEL_2X256_FLAGS := --layers 2 --hidden 256 --dropout 0.2
MODEL_SIZE_FLAGS  ?= $(MODEL_SERVE_FLAGS)
MODEL_TRAIN_FLAGS  = --countries data/countries.tsv --seed 1 \
	$(MODEL_SIZE_FLAGS)
MODEL_OUT ?= data/default.model
# Training's date is that of the last commit of the data, so a rerun
# writes the same bytes.
MODEL_EPOCH = $${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct \
	-- data/names.tsv 2>/dev/null || echo 0)}

.PHONY: model-2x256
model: $(BUILD)/bin/namegen-train
	SOURCE_DATE_EPOCH=$(MODEL_EPOCH) $(BUILD)/bin/namegen-train \
		$(MODEL_TRAIN_FLAGS) data/names.tsv $(MODEL_OUT)

model-2x256: $(BUILD)/bin/namegen-train
	SOURCE_DATE_EPOCH=$(MODEL_EPOCH) $(BUILD)/bin/namegen-train \
		--countries data/countries.tsv --seed 1 $(MODEL_2X256_FLAGS) \
		data/names.tsv $(BUILD)/model-2x256.model

# ------------------------------------------------------------------------
# The model worker (namegen-model): batcher, sampler, scorer, the
# ModelService handlers and main.c. Their non-main sources join LIBMODEL
# through the wildcard above.
PROGRAMS += $(BUILD)/bin/namegen-model

$(BUILD)/bin/namegen-model: $(BUILD)/namegen-model/main.o $(LIBMODEL) \
		$(LIBCOMMON) $(LIBPROTO)
	$(link)

# make bench-model: the worker under 1, 8, 64 and 256 clients beside the
# sgemm ceiling of the model's step (tests/bench/bench_model.sh).
BENCHES += $(BUILD)/bench/bench_model_ceiling

$(BUILD)/bench/bench_model_ceiling: \
		$(BUILD)/tests/bench/bench_model_ceiling.o $(LIBMODEL)
	$(link)

.PHONY: bench-model
bench-model: $(BUILD)/bin/namegen-model $(BUILD)/bin/namegen-cli \
		$(BUILD)/bin/namegen-train $(BUILD)/bench/bench_model_ceiling
	BUILD=$(BUILD) MODEL_SIZE_FLAGS="$(MODEL_SIZE_FLAGS)" \
		tests/bench/bench_model.sh
