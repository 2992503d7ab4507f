# bmq_json_parse: exact big integers, refusals (labels "core", "faults").
bmq_add_test(json_exact SOURCES ${CMAKE_CURRENT_LIST_DIR}/json_exact.c LIBS berrymq PkgConfig::GLIB
  TIMEOUT 60 LABELS core faults)
