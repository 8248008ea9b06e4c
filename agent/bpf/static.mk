# Statically linked builds of the two libbpf helpers, for an initramfs with no shared libraries (the qemu kernel
# suite, agent/test/qemu/): make -C agent/bpf -f static.mk
# Debian ships libbpf.a (libbpf-dev), libelf.a (libelf-dev) and libz.a (zlib1g-dev); glibc's libc.a comes with
# libc6-dev. The BPF objects themselves are built by the Makefile beside this file.
CC ?= cc
CFLAGS ?= -O2 -g -Wall -Wextra -Wno-unused-parameter
LIBBPF_CFLAGS := $(shell pkg-config --cflags libbpf 2>/dev/null)
STATIC_LIBS := $(shell pkg-config --static --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)

all: build/static/flowlens-loader build/static/flowlens-lossy

build/static/flowlens-loader: loader.c flowlens.h nat_rule.h ctnetlink.h flow_sum.h
	@mkdir -p build/static
	$(CC) $(CFLAGS) $(LIBBPF_CFLAGS) -static $< -o $@ $(STATIC_LIBS) -pthread

build/static/flowlens-lossy: lossy.c lossy.h
	@mkdir -p build/static
	$(CC) $(CFLAGS) $(LIBBPF_CFLAGS) -static $< -o $@ $(STATIC_LIBS)

.PHONY: all
