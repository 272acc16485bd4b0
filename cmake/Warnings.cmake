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
  # GCC 12 reports std::vector::insert of a byte range as a "write into a region of size 0" and
  # "literal" + std::string as overlapping memcpy at -O2/-O3 (GCC bugs 106199, 107852, 105329,
  # 105651): false positives inside libstdc++, not in our code.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 14)
    target_compile_options(tessera_warnings INTERFACE -Wno-stringop-overflow -Wno-restrict)
  endif()
endif()
