# Core unit tests (label "core"): identifiers, messages, bus, queues, threads.
find_package(Threads REQUIRED)
foreach(_t core_id core_message core_json core_bus core_queue core_concurrency)
  bmq_add_test(${_t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/${_t}.c LIBS berrymq Threads::Threads
    TIMEOUT 120 LABELS core)
endforeach()
