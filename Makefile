# namegen: top-level build.
#
# Every directory that builds something has a module.mk fragment that this
# file includes; a fragment only adds to the variables below and declares
# its own programs, so teams working in different folders do not collide.
#
#   make              build every program into $(BUILD)/bin
#   make SAN=1        the same with AddressSanitizer + UBSan into build-asan/
#   make asan         shorthand for make SAN=1
#   make test         install missing packages, build, run every test
#   make run          install missing packages, build, run the service

SAN     ?= 0
ifeq ($(SAN),1)
BUILD   ?= build-asan
else
BUILD   ?= build
endif

CC      ?= cc
PKGS    := libprotobuf-c libmicrohttpd libpq hiredis libsodium openblas jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
	   -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	   -Wformat-overflow=2 -Wundef -Wvla \
	   -Wimplicit-fallthrough -Wold-style-definition -Wnested-externs \
	   -Wno-format-zero-length -Wno-format-truncation
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
SANFLAGS :=
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer
endif

# Generated protobuf-c code lives in the build tree, never in git.
GEN     := $(BUILD)/gen
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE -pthread $(WARN) $(CFLAGS) $(SANFLAGS) \
	     -I. -I$(GEN) $(PKG_CFLAGS) -MMD -MP
GEN_CFLAGS = -std=c17 -pthread $(CFLAGS) $(SANFLAGS) -I$(GEN) $(PKG_CFLAGS)
LDFLAGS ?=
ALL_LDFLAGS = -pthread $(SANFLAGS) $(LDFLAGS) -Wl,--as-needed
LDLIBS  := $(PKG_LIBS) -lnng -lm

LIBPROTO := $(BUILD)/libproto.a

# Link a program or test from its prerequisites (objects and static libs).
define link
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS) $(EXTRA_LIBS)
endef

# Filled in by the fragments.
PROGRAMS :=
TESTS    :=
BENCHES  :=
PROTOS   := proto/namegen.proto

.PHONY: all asan test run clean
all:

include $(filter-out tests/module.mk,$(sort $(wildcard */module.mk)))
include tests/module.mk

PROTO_SRCS := $(patsubst %.proto,$(GEN)/%.pb-c.c,$(notdir $(PROTOS)))
PROTO_HDRS := $(PROTO_SRCS:.c=.h)
PROTO_OBJS := $(PROTO_SRCS:.c=.o)

all: $(PROGRAMS)

asan:
	$(MAKE) SAN=1

# protoc-c writes <name>.pb-c.{c,h} next to each other; one rule per file.
$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: $(filter %.proto,$(PROTOS))
	@mkdir -p $(GEN)
	protoc-c $(addprefix --proto_path=,$(sort $(dir $(PROTOS)))) \
		--c_out=$(GEN) $(notdir $(filter %/$*.proto,$(PROTOS)))

$(GEN)/%.pb-c.o: $(GEN)/%.pb-c.c $(PROTO_HDRS)
	$(CC) $(GEN_CFLAGS) -c -o $@ $<

$(LIBPROTO): $(PROTO_OBJS)
	$(AR) rcs $@ $^

# Every object may include a generated header, so they come first.
$(BUILD)/%.o: %.c | $(PROTO_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

test:
	@scripts/deps.sh
	@tests/run

run:
	@scripts/deps.sh
	@scripts/run-local

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
