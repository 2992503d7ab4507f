# bmq_add_test(NAME SOURCES src... [LIBS ...] [TIMEOUT s] [LABELS ...])
# One ctest executable. Exit code 77 means "skipped" (no display etc.).
# Every test carries the label of its folder (unit, plugins, integration,
# fuzz) plus the area LABELS given. Shared helpers come from tests/support.
set(BMQ_TEST_ENV
  "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1"
  "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
  "LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0"
  "G_SLICE=always-malloc"
  "G_DEBUG=gc-friendly"
  "BMQ_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "BMQ_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "BMQ_PLUGIN_BUILD_DIR=${BMQ_BUILD_PLUGIN_DIR}")
function(bmq_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
  get_filename_component(_folder ${CMAKE_CURRENT_LIST_DIR} NAME)
  add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT} SKIP_RETURN_CODE 77
    ENVIRONMENT "${BMQ_TEST_ENV}")
  list(PREPEND T_LABELS ${_folder})
  list(REMOVE_DUPLICATES T_LABELS)
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
endfunction()
