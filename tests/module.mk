# tests/: cmocka unit tests, one binary per tests/unit/test_*.c, and the
# small programs that integration tests and benchmarks drive.
#
# A unit test links every module library; static linking pulls in only
# what it uses. A module that needs extra link flags for its tests adds
# them to TEST_LIBS.
PROTOS    += tests/proto/rpctest.proto
# Support code shared by tests and benchmarks (test services).
SUPPORT_SRCS := $(wildcard tests/support/*.c)
SUPPORT_OBJS := $(SUPPORT_SRCS:%.c=$(BUILD)/%.o)
LIBSUPPORT   := $(BUILD)/libtestsupport.a
$(LIBSUPPORT): $(SUPPORT_OBJS)
	$(AR) rcs $@ $^

TEST_SRCS := $(wildcard tests/unit/test_*.c)
TESTS     += $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_LIBS += -lcmocka
ALL_LIBS   = $(LIBSUPPORT) $(LIBGATEWAY) $(LIBAUTH) $(LIBMODEL) $(LIBCOMMON) $(LIBPROTO)

$(BUILD)/tests/%: EXTRA_LIBS = $(TEST_LIBS)
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(ALL_LIBS)
	$(link)

.PHONY: tests
tests: $(TESTS) $(BENCHES) $(PROGRAMS)


# Benchmarks: programs under tests/bench/, built by `make tests` so that
# they always compile, run by their own make targets.
$(BUILD)/bench/bench_rpc: $(BUILD)/tests/bench/bench_rpc.o $(LIBSUPPORT) \
		$(LIBCOMMON) $(LIBPROTO)
	$(link)
BENCHES += $(BUILD)/bench/bench_rpc

.PHONY: bench-rpc
bench-rpc: $(BUILD)/bench/bench_rpc
	$(BUILD)/bench/bench_rpc $(or $(BENCH_SECONDS),2)
