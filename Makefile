# qsync top-level driver.
#   make          build everything into build/ (program: build/qsync, libraries build/libqsync.so and
#                 build/libqsync.a, Python package build/python/qsync)
#   make install  install the headers, libraries, program, qsync.pc, CMake package and Python package
#                 under PREFIX (default /usr/local), staged under DESTDIR if given
#   make run      install missing Debian packages, build, run the main job (a Fig. 2b point, then
#                 every figure of the paper, and the rings of six and eight, into out/)
#   make check    install missing Debian packages (with the test peers), build, run every test
#   make bench    run the benchmarks against QuTiP and NumPy, and the scaling table (see BENCHMARKS.md)
#   make sanitize build with AddressSanitizer + UndefinedBehaviorSanitizer into build-san/ and run the tests
#                 (all but those labelled slow, every figure of the paper and the README's commands, and
#                 address_limit, runs under ulimit -v, which the sanitizers cannot do; `make check` runs them)

BUILD      ?= build
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX     ?= /usr/local
DESTDIR    ?=

# Debian packages: build and run ...
DEPS      = build-essential cmake pkg-config libsuitesparse-dev libinih-dev \
            libopenblas-dev liblapacke-dev libmatheval-dev librandom123-dev gnuplot-nox \
            libopenmpi-dev openmpi-bin zlib1g-dev \
            libarpack2-dev libsundials-dev
# ... and the independent peers the tests and benchmarks compare against, the Python package's
# tests and notebook (pandas, pytest, matplotlib, Jupyter), and flex's libl, which libmatheval's
# pkg-config file names for a static link (the install test links libqsync.a).
TEST_DEPS = python3 python3-numpy python3-scipy python3-qutip python3-pandas python3-pytest \
            python3-matplotlib python3-nbconvert python3-ipykernel jupyter-nbconvert libfl-dev

.PHONY: all build install run check bench sanitize deps test-deps clean

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# PREFIX and DESTDIR reach the install recipe inside double quotes: a value holding a quote, a
# backslash, a dollar, a backquote or a newline could end them and run as commands, so such a
# value is refused before anything is built (spaces are fine). The values are read unexpanded,
# so that a $(...) in them is never expanded by make either.
define newline


endef
unsafe_in = $(or $(findstring ",$1),$(findstring ',$1),$(findstring \,$1),$(findstring $$,$1),$(findstring `,$1),$(findstring $(newline),$1))
PREFIX_text := $(value PREFIX)
DESTDIR_text := $(value DESTDIR)
ifneq ($(filter install,$(MAKECMDGOALS)),)
ifneq ($(call unsafe_in,$(PREFIX_text)),)
$(error PREFIX must not contain a quote, backslash, dollar, backquote or newline (it is used inside the install commands' quotes))
endif
ifneq ($(call unsafe_in,$(DESTDIR_text)),)
$(error DESTDIR must not contain a quote, backslash, dollar, backquote or newline (it is used inside the install commands' quotes))
endif
endif

# the install step reads PREFIX and DESTDIR at install time (the build needs neither); the
# dynamic linker's cache is refreshed when installing for real as root
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

deps:
	@scripts/install-deps $(DEPS)

test-deps:
	@scripts/install-deps $(DEPS) $(TEST_DEPS)

run: deps build
	$(BUILD)/qsync steady examples/fig2b.ini
	$(BUILD)/qsync figure all --out out

check: test-deps build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

bench: test-deps build
	bench/run

sanitize: test-deps
	$(MAKE) build BUILD=build-san BUILD_TYPE=Sanitize
	ctest --test-dir build-san --output-on-failure -j $(JOBS) -LE 'slow|address_limit'

clean:
	rm -rf build build-san
