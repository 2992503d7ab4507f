# The documentation kept true: every example in README.md and docs/ runs as
# written; the man pages name every verb, option, config key and plugin;
# the shell completions know every verb and option; every function of the
# public headers says what it returns and who owns a returned pointer; the
# hub's RPC methods are the ones docs/hub.md lists.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  add_test(NAME docs_examples
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/docs_examples.py
      ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR} ${CMAKE_COMMAND})
  set_tests_properties(docs_examples PROPERTIES TIMEOUT 900 SKIP_RETURN_CODE 77
    ENVIRONMENT "${BMQ_TEST_ENV}" RESOURCE_LOCK berrymq_hub)
  bmq_test_labels(docs_examples desktop)
  foreach(_t man_pages completions headers rpc)
    add_test(NAME docs_${_t}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/docs_${_t}.py ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
    set_tests_properties(docs_${_t} PROPERTIES TIMEOUT 300 ENVIRONMENT "${BMQ_TEST_ENV}")
    bmq_test_labels(docs_${_t})
  endforeach()
endif()
