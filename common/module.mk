# common/: the library every process links (rpc, config, log).
COMMON_SRCS := $(wildcard common/*.c)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(BUILD)/%.o)
LIBCOMMON   := $(BUILD)/libcommon.a

$(LIBCOMMON): $(COMMON_OBJS)
	$(AR) rcs $@ $^
