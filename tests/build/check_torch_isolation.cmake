# Fails when a file outside core/engine/*.cpp includes libtorch (torch/, ATen/, c10/) or the
# engine's precompiled header, so that a change elsewhere never recompiles against torch.
file(GLOB_RECURSE sources RELATIVE ${SOURCE_DIR}
     ${SOURCE_DIR}/core/*.h ${SOURCE_DIR}/core/*.hpp ${SOURCE_DIR}/core/*.cpp
     ${SOURCE_DIR}/ui/*.h ${SOURCE_DIR}/ui/*.cpp ${SOURCE_DIR}/app/*.h ${SOURCE_DIR}/app/*.cpp
     ${SOURCE_DIR}/tests/*.h ${SOURCE_DIR}/tests/*.cpp)
set(offenders "")
foreach(source IN LISTS sources)
  file(STRINGS ${SOURCE_DIR}/${source} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](torch/|ATen/|c10/|core/engine/torch_pch.h)")
  if(NOT includes)
    continue()
  endif()
  if(source STREQUAL "core/engine/torch_pch.h")
    continue()
  endif()
  if(source MATCHES "^core/engine/[^/]+\\.cpp$")
    continue()
  endif()
  list(APPEND offenders "${source}: ${includes}")
endforeach()
if(offenders)
  list(JOIN offenders "\n  " text)
  message(FATAL_ERROR "libtorch is included outside core/engine/*.cpp:\n  ${text}")
endif()
list(LENGTH sources count)
message(STATUS "torch isolation: ${count} files checked, libtorch only in core/engine/*.cpp")
