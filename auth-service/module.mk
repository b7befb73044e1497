# auth-service/: accounts, sessions and favorites (libpq, Redis, libsodium).
#
# Every source but main.c goes into $(LIBAUTH); the SQL migrations under
# migrations/ are compiled into the library (embed-migrations.sh), so the
# binary carries its schema and `auth-service --migrate` needs no files.
AUTH_SRCS := $(filter-out auth-service/main.c,$(wildcard auth-service/*.c))
AUTH_OBJS := $(AUTH_SRCS:%.c=$(BUILD)/%.o)
AUTH_SQL  := $(sort $(wildcard auth-service/migrations/*.sql))
AUTH_GEN  := $(GEN)/auth_migrations.c
LIBAUTH   := $(BUILD)/libauth.a
AUTH_SSL_LIBS := $(shell pkg-config --libs openssl 2>/dev/null || \
		   echo -lssl -lcrypto)

PROGRAMS  += $(BUILD)/bin/auth-service
TEST_LIBS += $(AUTH_SSL_LIBS)

$(AUTH_GEN): $(AUTH_SQL) auth-service/embed-migrations.sh
	@mkdir -p $(dir $@)
	sh auth-service/embed-migrations.sh $(AUTH_SQL) >$@.tmp
	mv $@.tmp $@

$(GEN)/auth_migrations.o: $(AUTH_GEN)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBAUTH): $(AUTH_OBJS) $(GEN)/auth_migrations.o
	$(AR) rcs $@ $^

$(BUILD)/bin/auth-service: EXTRA_LIBS = $(AUTH_SSL_LIBS)
$(BUILD)/bin/auth-service: $(BUILD)/auth-service/main.o $(LIBAUTH) \
			   $(BUILD)/libcommon.a $(LIBPROTO)
	$(link)

# The benchmark: WhoAmI, Login and AddFavorite against a real service,
# beside redis-benchmark's GET rate at the same concurrency.
BENCHES += $(BUILD)/bench/bench_auth
$(BUILD)/bench/bench_auth: EXTRA_LIBS = $(AUTH_SSL_LIBS)
$(BUILD)/bench/bench_auth: $(BUILD)/tests/bench/bench_auth.o $(LIBAUTH) \
			   $(BUILD)/libcommon.a $(LIBPROTO)
	$(link)

.PHONY: bench-auth
bench-auth: $(BUILD)/bench/bench_auth $(BUILD)/bin/auth-service
	@BUILD=$(BUILD) bash tests/bench/bench_auth.sh
