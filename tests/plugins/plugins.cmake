# Test plugins, built into a test-only directory (never installed, never in
# the build tree's real plugins/ folder): one good plugin (twice: with and
# without in-place reconfigure), and one for each way a plugin can fail.
set(BMQ_TEST_PLUGIN_DIR ${CMAKE_BINARY_DIR}/tests/plugins)
file(MAKE_DIRECTORY ${BMQ_TEST_PLUGIN_DIR})

function(_bmq_test_plugin name src)
  add_library(testplugin_${name} MODULE ${CMAKE_CURRENT_LIST_DIR}/${src})
  set_target_properties(testplugin_${name} PROPERTIES PREFIX "" OUTPUT_NAME ${name}
    LIBRARY_OUTPUT_DIRECTORY ${BMQ_TEST_PLUGIN_DIR} C_VISIBILITY_PRESET hidden)
  target_link_libraries(testplugin_${name} PRIVATE berrymq)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    target_link_options(testplugin_${name} PRIVATE -Wl,--no-undefined)
  endif()
endfunction()

_bmq_test_plugin(testplug testplug.c)
_bmq_test_plugin(testplug_norecfg testplug.c)
target_compile_definitions(testplugin_testplug_norecfg PRIVATE TESTPLUG_NO_RECONFIGURE)
_bmq_test_plugin(failplug failplug.c)
_bmq_test_plugin(badabi badabi.c)
_bmq_test_plugin(nosym nosym.c)
_bmq_test_plugin(faultplug faultplug.c)
# Its NULL stores must fault for real, not stop in UBSan's check first.
target_compile_options(testplugin_faultplug PRIVATE -fno-sanitize=undefined)
_bmq_test_plugin(hangload hangload.c)
# Not in the search path: listing the available plugins loads every file
# there, and this one never finishes loading.
set_target_properties(testplugin_hangload PROPERTIES
  LIBRARY_OUTPUT_DIRECTORY ${BMQ_TEST_PLUGIN_DIR}/hang)
# ABI growth: built against an older/shorter header, a newer/longer one,
# the layout from before the descriptor size, and a descriptor too short.
_bmq_test_plugin(oldplug oldplug.c)
_bmq_test_plugin(tinyplug oldplug.c)
target_compile_definitions(testplugin_tinyplug PRIVATE OLDPLUG_TINY)
_bmq_test_plugin(newplug newplug.c)
_bmq_test_plugin(legacyplug legacyplug.c)
_bmq_test_plugin(cursorplug cursorplug.c)
# "notso.so": a text file with a plugin's name, to be refused by dlopen.
file(WRITE ${BMQ_TEST_PLUGIN_DIR}/notso.so "this is not an ELF shared object\n")

add_custom_target(bmq_test_plugins DEPENDS testplugin_testplug testplugin_testplug_norecfg
  testplugin_failplug testplugin_badabi testplugin_nosym testplugin_faultplug
  testplugin_hangload
  testplugin_oldplug testplugin_tinyplug testplugin_newplug testplugin_legacyplug
  testplugin_cursorplug)
