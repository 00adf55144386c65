# partyline: the commands a C user expects, as thin wrappers over cargo.
#   make demo   build everything and run the three-party demo
#   make test   run every test (unit, C programs under the launcher, bootstrap, netns, header drift),
#               then fuzz the decoders for a bounded time (make fuzz) and boot the three-party
#               unikernel VMs (make unikernel), then run mpi4py's own test suite (make test-mpi4py)
#   make test-mpi4py  build mpi4py 4.1.2 against partyline and run its test suite at 1, 2, 3 ranks
#               (mpi4py's build cached in ~/.cache/partyline-mpi4py; tests/mpi4py/run.sh); part of make test
#   make ukl    the UKL build target: kernel-mode libpartyline.a, its object checks, the program dir

CARGO ?= cargo
CC ?= cc
PREFIX ?= /usr/local
TARGET := $(or $(CARGO_TARGET_DIR),target)/release
CFLAGS_EX := -std=c11 -O2 -Wall -Wextra -Werror -Iinclude

.PHONY: all build demo test deps install uninstall pc clean unikernel ukl fuzz test-mpi4py

all: build

deps:
	@scripts/deps.sh

# build.rs puts libmpi_abi.so.1 (the library's SONAME) next to libpartyline.so.
build:
	$(CARGO) build --release

$(TARGET)/examples/%: c-examples/%.c include/mpi.h build
	@mkdir -p $(TARGET)/examples
	$(CC) $(CFLAGS_EX) $< -o $@ -L$(TARGET) -lpartyline -Wl,-rpath,$(abspath $(TARGET))

# The MPC example is built through the mpicc wrapper, as a user's program would be.
$(TARGET)/examples/mpc: $(wildcard c-examples/mpc/*.c c-examples/mpc/*.h) build
	@mkdir -p $(TARGET)/examples
	$(TARGET)/mpicc -std=c11 -O2 -Wall -Wextra -Werror c-examples/mpc/mpc.c c-examples/mpc/rss.c c-examples/mpc/circuits.c -o $@

demo: deps build $(TARGET)/examples/hello $(TARGET)/examples/ring $(TARGET)/examples/mpc
	$(TARGET)/partyrun -n 3 $(TARGET)/examples/hello
	$(TARGET)/partyrun -n 3 $(TARGET)/examples/ring
	$(TARGET)/partyrun -n 3 $(TARGET)/examples/mpc

test: deps
	$(CARGO) test --release
	$(MAKE) fuzz
	$(MAKE) unikernel
	$(MAKE) test-mpi4py

# mpi4py's own test suite as a user would run it: pip builds mpi4py from source with our mpicc
# (installed into target/mpi4py/prefix), then partyrun runs it at 1, 2 and 3 ranks, minus the
# unsupported families; prints pass/fail/error/skip per run, and fails if a run hangs, a rank dies,
# or fewer tests pass than tests/mpi4py/floor says. The venv and build are reused (rebuilt when
# mpi.h changes), so a second run costs only the tests. MPI4PY_MPI=openmpi runs it on Open MPI.
test-mpi4py:
	tests/mpi4py/run.sh

# Fuzzes the frame, greeting and rendezvous decoders with cargo-fuzz (nightly; installed when
# missing), FUZZ_SECONDS per target, from the committed corpus (fuzz/). Its nasty cases also run
# on stable inside cargo test (tests/fuzz_corpus.rs).
FUZZ_SECONDS ?= 30
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

# Builds the unikernel kernel once (cached in ~/.cache/partyline), the ring and MPC images, and
# boots three QEMU VMs for each (unikernel/README.md). Kept out of cargo test, which stays fast.
unikernel: build
	unikernel/run

# Needs nightly Rust with rust-src; without it build-lib says so and exits 77, reported as skipped.
ukl:
	@unikernel/ukl/build-lib; rc=$$?; \
	if [ $$rc -eq 77 ]; then echo "make ukl: skipped (see above)"; exit 0; fi; \
	[ $$rc -eq 0 ] && unikernel/ukl/package --rehearse

# The installed layout: the wrappers find include/ and lib/ relative to bin/, and link with an
# rpath to lib/, so programs run without LD_LIBRARY_PATH. DESTDIR stages for packaging.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
BINDIR = $(DESTDIR)$(PREFIX)/bin
INCDIR = $(DESTDIR)$(PREFIX)/include
LIBDIR = $(DESTDIR)$(PREFIX)/lib
STRIP ?= strip
OBJCOPY ?= objcopy
# The release profile keeps debug info for profiling; install strips it (libpartyline.so is 23 MB
# with it, 3 MB without). DEBUG=1 keeps it in lib/.debug/libpartyline.so.debug, linked from the
# library by .gnu_debuglink: gdb looks for that name in .debug/ beside the library, not in debug/.
# --strip-unneeded keeps the dynamic symbol table, so the MPI_*/PMPI_* exports stay. An install
# without DEBUG=1 removes the .debug file of an earlier one, which no longer matches the library.
DEBUG ?=
DEBUGDIR = $(LIBDIR)/.debug

pc:
	@mkdir -p $(TARGET)
	sed -e 's|@PREFIX@|$(abspath $(PREFIX))|g' -e 's|@VERSION@|$(VERSION)|g' partyline.pc.in > $(TARGET)/partyline.pc

install: build pc
	install -d $(BINDIR) $(INCDIR) $(LIBDIR)/pkgconfig
	install -m 755 $(TARGET)/partyrun $(TARGET)/mpicc $(TARGET)/mpicxx $(BINDIR)/
	$(STRIP) $(BINDIR)/partyrun $(BINDIR)/mpicc $(BINDIR)/mpicxx
	ln -sf partyrun $(BINDIR)/mpirun
	ln -sf partyrun $(BINDIR)/mpiexec
	install -m 644 include/mpi.h $(INCDIR)/mpi.h
	install -m 755 $(TARGET)/libpartyline.so $(LIBDIR)/libpartyline.so
ifeq ($(DEBUG),1)
	install -d $(DEBUGDIR)
	$(OBJCOPY) --only-keep-debug $(LIBDIR)/libpartyline.so $(DEBUGDIR)/libpartyline.so.debug
	chmod 644 $(DEBUGDIR)/libpartyline.so.debug
else
	rm -f $(DEBUGDIR)/libpartyline.so.debug
	rmdir $(DEBUGDIR) 2>/dev/null || true
endif
	$(STRIP) --strip-unneeded $(LIBDIR)/libpartyline.so
ifeq ($(DEBUG),1)
	$(OBJCOPY) --add-gnu-debuglink=$(DEBUGDIR)/libpartyline.so.debug $(LIBDIR)/libpartyline.so
endif
	install -m 644 $(TARGET)/libpartyline.a $(LIBDIR)/libpartyline.a
	$(STRIP) --strip-debug $(LIBDIR)/libpartyline.a
	ln -sf libpartyline.so $(LIBDIR)/libmpi_abi.so.1
	ln -sf libmpi_abi.so.1 $(LIBDIR)/libmpi_abi.so
	install -m 644 $(TARGET)/partyline.pc $(LIBDIR)/pkgconfig/partyline.pc

# Removes exactly what install puts there; the directories stay (they may be shared, e.g. /usr/local),
# except lib/.debug when it is left empty.
uninstall:
	rm -f $(addprefix $(BINDIR)/,partyrun mpirun mpiexec mpicc mpicxx) $(INCDIR)/mpi.h \
	  $(addprefix $(LIBDIR)/,libpartyline.so libpartyline.a libmpi_abi.so.1 libmpi_abi.so pkgconfig/partyline.pc) \
	  $(DEBUGDIR)/libpartyline.so.debug
	rmdir $(DEBUGDIR) 2>/dev/null || true

clean:
	$(CARGO) clean
