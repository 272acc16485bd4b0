# Fails when a file outside core/engine/*.cpp includes libtorch (torch/, ATen/, c10/) or the
# engine's precompiled header, or a torch translation unit includes headers of other modules, so
# that a change elsewhere never recompiles against torch.
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
    # A torch translation unit must not depend on the rest of core either: touching the wallet,
    # the log, the network or the node would otherwise recompile it against torch.
    file(STRINGS ${SOURCE_DIR}/${source} foreign REGEX "^[ \t]*#[ \t]*include[ \t]*\"(core/(wallet|ledger|net|node|hub|sys)/|ui/|app/)")
    if(foreign)
      list(APPEND offenders "${source} (torch TU including other modules): ${foreign}")
    endif()
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
