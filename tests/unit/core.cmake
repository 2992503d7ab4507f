# Core unit tests (label "core"): identifiers, messages, bus, queues, threads.
find_package(Threads REQUIRED)
foreach(_t core_id core_message core_json core_bus core_queue core_concurrency core_share)
  bmq_add_test(${_t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/${_t}.c LIBS berrymq Threads::Threads
    TIMEOUT 120 LABELS core)
endforeach()
bmq_add_test(core_unfollow SOURCES ${CMAKE_CURRENT_LIST_DIR}/core_unfollow.c
  LIBS berrymq Threads::Threads TIMEOUT 120 LABELS core)

# The same test with ThreadSanitizer over core/ compiled into it: the index's
# lock-free read side against follow/unfollow. Only in builds that use no
# other sanitizer (TSan cannot be combined with ASan).
include(CheckCSourceCompiles)
if(NOT CMAKE_C_FLAGS MATCHES "sanitize" AND CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  set(CMAKE_REQUIRED_FLAGS "-fsanitize=thread")
  set(CMAKE_REQUIRED_LINK_OPTIONS "-fsanitize=thread")
  check_c_source_compiles("int main(void) { return 0; }" BMQ_HAVE_TSAN)
  unset(CMAKE_REQUIRED_FLAGS)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
endif()
if(BMQ_HAVE_TSAN)
  file(GLOB _core_srcs ${CMAKE_SOURCE_DIR}/sdk/src/core/*.c)
  bmq_add_test(core_unfollow_tsan SOURCES ${CMAKE_CURRENT_LIST_DIR}/core_unfollow.c ${_core_srcs}
    LIBS PkgConfig::GLIB PkgConfig::JSONC Threads::Threads TIMEOUT 300 LABELS core tsan
    ARGS 400)
  target_include_directories(core_unfollow_tsan PRIVATE ${CMAKE_SOURCE_DIR}/sdk/include
    ${CMAKE_BINARY_DIR}/sdk/include ${CMAKE_SOURCE_DIR}/sdk/src/core)
  target_compile_definitions(core_unfollow_tsan PRIVATE BMQ_BUILDING)
  target_compile_options(core_unfollow_tsan PRIVATE -fsanitize=thread -O1 -g)
  target_link_options(core_unfollow_tsan PRIVATE -fsanitize=thread)
  set_property(TEST core_unfollow_tsan APPEND PROPERTY ENVIRONMENT
    "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1")

  # Many any-thread followers reading one message (render, JSON texts, uid,
  # references), as plugins' followers on the worker pool do.
  bmq_add_test(core_share_tsan SOURCES ${CMAKE_CURRENT_LIST_DIR}/core_share.c ${_core_srcs}
    LIBS PkgConfig::GLIB PkgConfig::JSONC Threads::Threads TIMEOUT 300 LABELS core tsan
    ARGS 300)
  target_include_directories(core_share_tsan PRIVATE ${CMAKE_SOURCE_DIR}/sdk/include
    ${CMAKE_BINARY_DIR}/sdk/include ${CMAKE_SOURCE_DIR}/sdk/src/core)
  target_compile_definitions(core_share_tsan PRIVATE BMQ_BUILDING)
  target_compile_options(core_share_tsan PRIVATE -fsanitize=thread -O1 -g)
  target_link_options(core_share_tsan PRIVATE -fsanitize=thread)
  set_property(TEST core_share_tsan APPEND PROPERTY ENVIRONMENT
    "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1")
endif()
