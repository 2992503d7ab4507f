# bmq_add_plugin(NAME SOURCES src... [LIBS target...])
# Builds a MODULE library NAME.so (no "lib" prefix) into the build tree's
# plugins/ folder (where the hub looks when run from the build tree) and
# installs it into ${libdir}/berrymq/plugins, with a RUNPATH relative to
# itself that finds this project's libraries (libberrymq-gtk) from any
# prefix without ldconfig.
function(bmq_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  add_library(plugin_${name} MODULE ${P_SOURCES})
  set_target_properties(plugin_${name} PROPERTIES
    PREFIX "" OUTPUT_NAME ${name}
    LIBRARY_OUTPUT_DIRECTORY ${BMQ_BUILD_PLUGIN_DIR}
    C_VISIBILITY_PRESET hidden
    INSTALL_RPATH "${BMQ_RPATH_PLUGIN}")
  target_link_libraries(plugin_${name} PRIVATE berrymq ${P_LIBS})
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    target_link_options(plugin_${name} PRIVATE -Wl,--no-undefined)
  endif()
  install(TARGETS plugin_${name} LIBRARY DESTINATION ${BMQ_PLUGIN_INSTALL_DIR})
endfunction()
