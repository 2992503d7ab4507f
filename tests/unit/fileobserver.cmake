# fileobserver plugin: real files in temp dirs, real inotify, the real
# plugin host and main loop.
bmq_add_test(fileobserver_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/fileobserver_test.c
  ${CMAKE_CURRENT_LIST_DIR}/fileobserver_harness.c
  LIBS berrymq TIMEOUT 60 LABELS fileobserver)
add_dependencies(fileobserver_test plugin_fileobserver)
bmq_add_test(fileobserver_overflow_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/fileobserver_overflow_test.c
  ${CMAKE_CURRENT_LIST_DIR}/fileobserver_harness.c
  LIBS berrymq TIMEOUT 120 LABELS fileobserver)
add_dependencies(fileobserver_overflow_test plugin_fileobserver)
