# Fuzzing the capture plugin's parsing core with D-Bus Notify messages.
# With BMQ_FUZZ (clang): the libFuzzer executable capture_fuzz over an
# instrumented copy of the core; seed it with
#   capture_fuzz_replay --write-seeds seeds && capture_fuzz seeds
# Otherwise: capture_fuzz_replay, a ctest that runs the target over built-in
# seeds and thousands of deterministic mutations of each.
set(_cap_dir ${CMAKE_SOURCE_DIR}/plugins/capture)
if(BMQ_FUZZ AND TARGET plugin_capture)
  add_library(capture_core_fuzz STATIC ${_cap_dir}/cap_parse.c ${_cap_dir}/cap_config.c)
  target_include_directories(capture_core_fuzz PUBLIC ${_cap_dir})
  target_compile_options(capture_core_fuzz PRIVATE -fsanitize=fuzzer-no-link)
  target_link_libraries(capture_core_fuzz PUBLIC berrymq PkgConfig::GLIB PkgConfig::JSONC)
  add_executable(capture_fuzz ${CMAKE_CURRENT_LIST_DIR}/capture_fuzz.c)
  target_compile_options(capture_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_options(capture_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_libraries(capture_fuzz PRIVATE capture_core_fuzz)
elseif(TARGET capture_core)
  bmq_add_test(capture_fuzz_replay
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/capture_fuzz.c ${CMAKE_CURRENT_LIST_DIR}/capture_replay.c
    LIBS capture_core TIMEOUT 300 LABELS capture)
endif()
