// File: tests/fuzz/fuzz.h
//
// A fuzz target defines LLVMFuzzerTestOneInput. Built with `make fuzz` (clang,
// -fsanitize=fuzzer,address,undefined) it is a libFuzzer binary; in the normal build it is
// linked with replay_main.cc and replays its seed corpus under ctest, so every target
// keeps compiling and every input once found stays fixed. A target aborts (FUZZ_CHECK) when
// an invariant breaks; crashes and sanitizer reports are the other findings.

#ifndef CVX_TESTS_FUZZ_FUZZ_H_
#define CVX_TESTS_FUZZ_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

#endif  // CVX_TESTS_FUZZ_FUZZ_H_
