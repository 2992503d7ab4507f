# bench_webhook: messages/s the webhook plugin delivers to a local
# keep-alive server, against curl run once per message. Built, not run by
# ctest: run build/tests/bench_webhook [MESSAGES] [CURL_RUNS].
add_executable(bench_webhook ${CMAKE_CURRENT_LIST_DIR}/bench_webhook.c)
target_link_libraries(bench_webhook PRIVATE berrymq bmq_http_server)
add_dependencies(bench_webhook plugin_webhook)
