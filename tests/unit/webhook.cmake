# webhook plugin (label "webhook"): requests as a real HTTP server on
# loopback receives them, retries, outages, rate limits and TLS, with the
# real plugin host. The server is tests/support/http_server.c.

foreach(_t format retry tls http2)
  bmq_add_test(webhook_${_t}_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/webhook_${_t}_test.c
    LIBS berrymq bmq_http_server TIMEOUT 180 LABELS webhook)
  add_dependencies(webhook_${_t}_test plugin_webhook)
endforeach()
bmq_add_test(webhook_template_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/webhook_template_test.c
  LIBS webhook_core TIMEOUT 60 LABELS webhook)
