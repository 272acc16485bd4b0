# Use ccache when it is installed. The sloppiness settings let it cache translation units that
# use the libtorch precompiled header (gcc embeds time macros and define lists in the .gch).
find_program(TESSERA_CCACHE ccache)
if(TESSERA_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${TESSERA_CCACHE})
  message(STATUS "ccache: ${TESSERA_CCACHE}")
endif()
