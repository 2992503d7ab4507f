# Fuzz targets for the growl plugin's parsers (GNTP and legacy UDP).
# With BMQ_FUZZ (clang): libFuzzer executables growl_fuzz_gntp and
# growl_fuzz_udp over an instrumented copy of the protocol code; run e.g.
#   growl_fuzz_gntp -max_len=65536 tests/fuzz/growl_corpus/gntp
# Otherwise: replay drivers that run every corpus file as a ctest.
set(_growl_dir ${CMAKE_SOURCE_DIR}/plugins/growl)
set(_growl_proto_src ${_growl_dir}/gntp_format.c ${_growl_dir}/gntp_parse.c
  ${_growl_dir}/udp_format.c ${_growl_dir}/udp_parse.c ${_growl_dir}/template.c)
if(BMQ_FUZZ)
  add_library(growl_proto_fuzz STATIC ${_growl_proto_src})
  target_include_directories(growl_proto_fuzz PUBLIC ${_growl_dir}
    PRIVATE $<TARGET_PROPERTY:berrymq,INTERFACE_INCLUDE_DIRECTORIES>)
  target_compile_options(growl_proto_fuzz PRIVATE -fsanitize=fuzzer-no-link)
  target_link_libraries(growl_proto_fuzz PUBLIC PkgConfig::GLIB PkgConfig::JSONC)
  foreach(_t gntp udp)
    add_executable(growl_fuzz_${_t} ${CMAKE_CURRENT_LIST_DIR}/growl_${_t}.c)
    target_compile_options(growl_fuzz_${_t} PRIVATE -fsanitize=fuzzer)
    target_link_options(growl_fuzz_${_t} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(growl_fuzz_${_t} PRIVATE growl_proto_fuzz)
    target_include_directories(growl_fuzz_${_t} PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
  endforeach()
else()
  foreach(_t gntp udp)
    bmq_add_test(growl_fuzz_${_t}_replay
      SOURCES ${CMAKE_CURRENT_LIST_DIR}/growl_${_t}.c ${CMAKE_CURRENT_LIST_DIR}/growl_replay.c
      LIBS growl_proto TIMEOUT 120 LABELS growl
      ARGS ${CMAKE_CURRENT_LIST_DIR}/growl_corpus/${_t})
  endforeach()
endif()
