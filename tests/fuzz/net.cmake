# JSON-RPC dispatcher fuzzing. With BMQ_FUZZ (preset "fuzz", clang) rpc_fuzz
# is a libFuzzer binary:  build-fuzz/tests/rpc_fuzz -max_total_time=600
#   tests/fuzz/rpc_corpus
# In every build the same entry point replays the seed corpus as a ctest.
bmq_add_test(rpc_fuzz_replay SOURCES ${CMAKE_CURRENT_LIST_DIR}/rpc_fuzz.c
  ${CMAKE_CURRENT_LIST_DIR}/rpc_fuzz_replay.c LIBS berrymq_internal
  ARGS ${CMAKE_CURRENT_LIST_DIR}/rpc_corpus TIMEOUT 60 LABELS net fuzz)
if(BMQ_FUZZ)
  target_compile_options(berrymq_internal PRIVATE -fsanitize=fuzzer-no-link)
  add_executable(rpc_fuzz ${CMAKE_CURRENT_LIST_DIR}/rpc_fuzz.c)
  target_compile_options(rpc_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_options(rpc_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_libraries(rpc_fuzz PRIVATE berrymq_internal)
endif()
