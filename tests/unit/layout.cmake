# libberrymq's imports run only downward (core <- net, core <- plugin); see
# docs/layout.md. test_rules: tests assert with tests/support/check.h only,
# and a test folder includes nothing from another test folder (shared
# helpers live in tests/support) and no .c file.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  add_test(NAME layout_includes
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/layout_includes.py ${CMAKE_SOURCE_DIR})
  set_tests_properties(layout_includes PROPERTIES TIMEOUT 60)
  bmq_test_labels(layout_includes layout)
  add_test(NAME test_rules
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_rules.py ${CMAKE_SOURCE_DIR})
  set_tests_properties(test_rules PROPERTIES TIMEOUT 60)
  bmq_test_labels(test_rules layout)
endif()
