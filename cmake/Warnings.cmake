# tessera_warnings: an interface target carrying the project's warning flags, so third-party
# headers (libtorch, Qt) are not held to them: those come in as SYSTEM includes.
add_library(tessera_warnings INTERFACE)
if(MSVC)
  target_compile_options(tessera_warnings INTERFACE /W4 /permissive-)
  if(TESSERA_WARNINGS_AS_ERRORS)
    target_compile_options(tessera_warnings INTERFACE /WX)
  endif()
else()
  target_compile_options(tessera_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                                                    -Wnon-virtual-dtor -Wcast-align)
  if(TESSERA_WARNINGS_AS_ERRORS)
    target_compile_options(tessera_warnings INTERFACE -Werror)
  endif()
  # GCC 12 reports std::vector::insert of a byte range as a "write into a region of size 0" at -O2
  # (GCC bugs 106199, 107852): a false positive in libstdc++ code, not ours.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 14)
    target_compile_options(tessera_warnings INTERFACE -Wno-stringop-overflow)
  endif()
endif()
