# Fuzzing the hub's ntfy API: raw HTTP connections to a real server on a
# Unix socket with the ntfy route. With BMQ_FUZZ (preset "fuzz", clang):
#   build-fuzz/tests/ntfy_fuzz -max_total_time=600 tests/fuzz/ntfy_corpus
# In every build the same entry point replays the seed corpus as a ctest.
if(TARGET berrymq_hub_core)
  bmq_add_test(ntfy_fuzz_replay SOURCES ${CMAKE_CURRENT_LIST_DIR}/ntfy_fuzz.c
    ${CMAKE_CURRENT_LIST_DIR}/rpc_fuzz_replay.c LIBS berrymq_hub_core
    ARGS ${CMAKE_CURRENT_LIST_DIR}/ntfy_corpus TIMEOUT 120 LABELS fuzz ntfy)
  if(BMQ_FUZZ)
    add_executable(ntfy_fuzz ${CMAKE_CURRENT_LIST_DIR}/ntfy_fuzz.c)
    target_compile_options(ntfy_fuzz PRIVATE -fsanitize=fuzzer)
    target_link_options(ntfy_fuzz PRIVATE -fsanitize=fuzzer)
    target_link_libraries(ntfy_fuzz PRIVATE berrymq_hub_core)
  endif()
endif()
