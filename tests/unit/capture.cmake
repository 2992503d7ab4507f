# capture plugin (label "capture"): the parsing core, without a bus.
if(TARGET capture_core)
  bmq_add_test(capture_parse_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/capture_parse_test.c
    LIBS capture_core TIMEOUT 60 LABELS capture)
endif()
