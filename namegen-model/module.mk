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

PROGRAMS += $(BUILD)/bin/namegen-train

$(BUILD)/bin/namegen-train: $(BUILD)/namegen-model/train_main.o $(LIBMODEL) \
		$(LIBCOMMON)
	$(link)
