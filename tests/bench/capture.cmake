# bench_capture: hub-process CPU per captured Notify, end to end through a
# private dbus-daemon, and the parsing core alone. Built, not run by ctest:
#   build/tests/bench_capture [NOTIFICATIONS]
if(TARGET plugin_capture)
  add_executable(bench_capture ${CMAKE_CURRENT_LIST_DIR}/bench_capture.c)
  target_link_libraries(bench_capture PRIVATE berrymq capture_core PkgConfig::GLIB)
  target_compile_definitions(bench_capture PRIVATE BMQ_BENCH_PLUGIN_DIR="${BMQ_BUILD_PLUGIN_DIR}")
  add_dependencies(bench_capture plugin_capture)
endif()
