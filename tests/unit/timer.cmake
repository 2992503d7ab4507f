# timer plugin: ticks, count, drift, destroy, config errors (real timerfd,
# real plugin host, real main loop).
bmq_add_test(timer_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/timer_test.c
  LIBS berrymq TIMEOUT 120 LABELS timer)
add_dependencies(timer_test plugin_timer)
