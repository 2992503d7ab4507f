# libberrymq's imports run only downward (core <- net, core <- plugin); see
# docs/layout.md.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  add_test(NAME layout_includes
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/layout_includes.py ${CMAKE_SOURCE_DIR})
  set_tests_properties(layout_includes PROPERTIES TIMEOUT 60 LABELS "unit;layout")
endif()
