# SHARELINK_FUZZ=ON builds the libFuzzer targets of tests/fuzz, with the library they drive instrumented for
# coverage, AddressSanitizer and UndefinedBehaviorSanitizer (clang only; tests/fuzz/run_fuzzers.sh sets it up).
option(SHARELINK_FUZZ "Build the libFuzzer targets in tests/fuzz (clang only)" OFF)
if(SHARELINK_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SHARELINK_FUZZ needs clang (e.g. CXX=clang++-14), not ${CMAKE_CXX_COMPILER_ID}")
  endif()
  if(SHARELINK_SANITIZE)
    message(FATAL_ERROR "SHARELINK_FUZZ brings its own sanitizers (address,undefined): leave SHARELINK_SANITIZE empty")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
