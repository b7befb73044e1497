# cli/: namegen-cli, a command-line client of the workers (model calls,
# the load generator of the benchmarks, and auth commands).
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)

PROGRAMS += $(BUILD)/bin/namegen-cli

# libmodel.a and libcommon.a are named here, not by variable: their
# fragments are included after this one.
$(BUILD)/bin/namegen-cli: $(CLI_OBJS) $(BUILD)/libmodel.a $(BUILD)/libcommon.a \
		$(LIBPROTO)
	$(link)
