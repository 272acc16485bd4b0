# Fails when a program loads libtorch at start (the desktop app, the hub, and tessera-node too, which
# loads an engine backend at run time only when it trains), or when a backend library does not: the
# second half proves the check can see libtorch at all. Every shared library each program loads is resolved, recursively, as the dynamic
# loader would (file(GET_RUNTIME_DEPENDENCIES)).
#   cmake -DWITHOUT="prog;…" -DWITH="backend.so;…" -P check_no_torch.cmake
set(torch_regex "(^|[/\\\\])(lib)?(torch|torch_cpu|torch_cuda|c10|c10_cuda)(\\.|-|_)[^/\\\\]*$")
set(failures "")

function(torch_libraries program out)
  if(NOT EXISTS "${program}")
    message(FATAL_ERROR "${program} does not exist: build it first (cmake --build … --target ${program})")
  endif()
  set(kind EXECUTABLES)
  if(program MATCHES "\\.(so|dylib|dll)$")
    set(kind MODULES)
  endif()
  file(GET_RUNTIME_DEPENDENCIES
       ${kind} "${program}"
       RESOLVED_DEPENDENCIES_VAR resolved
       UNRESOLVED_DEPENDENCIES_VAR unresolved
       CONFLICTING_DEPENDENCIES_PREFIX conflicting)  # one CUDA library both bundled and installed: fine
  set(found "")
  foreach(library IN LISTS resolved unresolved)
    if(library MATCHES "${torch_regex}")
      list(APPEND found "${library}")
    endif()
  endforeach()
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

foreach(program IN LISTS WITHOUT)
  torch_libraries("${program}" found)
  if(found)
    list(JOIN found ", " text)
    list(APPEND failures "${program} loads libtorch (${text}): only the engine backends (core/backend) may link it")
  else()
    message(STATUS "${program}: no libtorch")
  endif()
endforeach()

foreach(program IN LISTS WITH)
  torch_libraries("${program}" found)
  if(NOT found)
    list(APPEND failures "${program} should load libtorch but no torch library was found: the check is broken")
  else()
    message(STATUS "${program}: libtorch, as expected")
  endif()
endforeach()

if(failures)
  list(JOIN failures "\n  " text)
  message(FATAL_ERROR "run-time libtorch check failed:\n  ${text}")
endif()
