# bench_smoke (label "bench"): every benchmark once on tiny inputs, so none
# can rot unseen. Benchmarks still print figures only; nothing is timed.
# Not in sanitizer builds: there the benchmarks measure the sanitizer.
if(NOT CMAKE_C_FLAGS MATCHES "sanitize")
  add_test(NAME bench_smoke
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/bench_smoke.sh ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(bench_smoke PROPERTIES TIMEOUT 300
    ENVIRONMENT "${BMQ_TEST_ENV}")
  bmq_test_labels(bench_smoke)
endif()
