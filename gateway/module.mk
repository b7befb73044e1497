# gateway/: the HTTP server (libmicrohttpd, jansson) in front of the
# workers.
#
# Every source but main.c goes into $(LIBGATEWAY), with the OpenAPI
# document assembled in from gateway/openapi.json (gw_openapi.S).
GATEWAY_SRCS := $(filter-out gateway/main.c,$(wildcard gateway/*.c))
GATEWAY_OBJS := $(GATEWAY_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gateway/gw_openapi.o
LIBGATEWAY   := $(BUILD)/libgateway.a

PROGRAMS += $(BUILD)/bin/gateway

$(BUILD)/gateway/gw_openapi.o: gateway/gw_openapi.S gateway/openapi.json
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ gateway/gw_openapi.S

$(LIBGATEWAY): $(GATEWAY_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/bin/gateway: $(BUILD)/gateway/main.o $(LIBGATEWAY) \
		      $(BUILD)/libcommon.a $(LIBPROTO)
	$(link)

# A small worker serving both services, for the tests that need a worker
# to be slow or to fail on purpose (tests/gateway_test_worker.c).
GATEWAY_TEST_WORKER := $(BUILD)/tests/gateway_test_worker
BENCHES += $(GATEWAY_TEST_WORKER)
$(GATEWAY_TEST_WORKER): $(BUILD)/tests/gateway_test_worker.o \
			$(BUILD)/libcommon.a $(LIBPROTO)
	$(link)

.PHONY: bench-http
bench-http: $(BUILD)/bin/gateway $(BUILD)/bin/namegen-model \
	    $(BUILD)/bin/auth-service $(BUILD)/bin/namegen-cli
	@bash tests/bench/bench_http.sh

# Many concurrent clients checking every answer (tests/gateway_load.c).
GATEWAY_LOAD := $(BUILD)/tests/gateway_load
BENCHES += $(GATEWAY_LOAD)
$(GATEWAY_LOAD): $(BUILD)/tests/gateway_load.o
	$(link)
