# bmq_add_test(NAME SOURCES src... [LIBS ...] [TIMEOUT s] [LABELS ...])
# One ctest executable. Exit code 77 means "skipped" (no display etc.).
# Labels are folders: every test carries the label of the tests/ folder
# whose fragment declares it (unit, plugins, integration, fuzz, bench,
# docs), derived here, plus the area LABELS given (core, mqtt, history...).
# A folder's name given as an area label that is not the test's own folder
# is refused. Tests added with add_test() get theirs from bmq_test_labels;
# tests/CMakeLists.txt refuses a test that has neither. Shared helpers come
# from tests/support.
set(BMQ_TEST_FOLDERS unit plugins integration fuzz bench docs)
set(BMQ_TEST_ENV
  "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1"
  "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
  "LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0"
  "G_SLICE=always-malloc"
  "G_DEBUG=gc-friendly"
  "BMQ_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "BMQ_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "BMQ_PLUGIN_BUILD_DIR=${BMQ_BUILD_PLUGIN_DIR}")
# bmq_test_labels(NAME [AREA...]): the labels of test NAME, declared in the
# fragment being read: its folder's plus the areas.
function(bmq_test_labels name)
  get_filename_component(_folder ${CMAKE_CURRENT_LIST_DIR} NAME)
  if(NOT _folder IN_LIST BMQ_TEST_FOLDERS)
    message(FATAL_ERROR "test ${name}: tests/${_folder} is not a test folder "
      "(${BMQ_TEST_FOLDERS})")
  endif()
  set(_labels ${_folder})
  foreach(_l IN LISTS ARGN)
    if(_l IN_LIST BMQ_TEST_FOLDERS AND NOT _l STREQUAL _folder)
      message(FATAL_ERROR "test ${name}: label '${_l}' names the folder tests/${_l}, "
        "but the test is declared in tests/${_folder}; labels are folders")
    endif()
    list(APPEND _labels ${_l})
  endforeach()
  list(REMOVE_DUPLICATES _labels)
  set_tests_properties(${name} PROPERTIES LABELS "${_labels}")
  set_property(GLOBAL APPEND PROPERTY BMQ_LABELED_TESTS ${name})
endfunction()

function(bmq_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
  add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT} SKIP_RETURN_CODE 77
    ENVIRONMENT "${BMQ_TEST_ENV}")
  bmq_test_labels(${name} ${T_LABELS})
endfunction()
