# PyTorch's libtorch 2.x with CUDA, from the pip wheel (scripts/setup installs it into build/torch;
# scripts/device-check passes the one it finds): the imported target tessera::torch_cuda, for the
# CUDA backend only. No find_package(Torch): that wants the CUDA toolkit, and the wheel (with the
# nvidia-* wheels beside it) already holds the headers and the libraries.
#   TESSERA_CUDA_TORCH_DIR   the wheel's torch/ folder (…/site-packages/torch); empty: no CUDA backend
set(_tessera_default_wheel "")
file(GLOB _tessera_wheels "${PROJECT_SOURCE_DIR}/build/torch/lib/python3*/site-packages/torch")
if(_tessera_wheels)
  list(GET _tessera_wheels 0 _tessera_default_wheel)
endif()
set(TESSERA_CUDA_TORCH_DIR "${_tessera_default_wheel}" CACHE PATH
    "PyTorch's torch/ folder (pip wheel) to build the CUDA backend against; empty: no CUDA backend")

set(TESSERA_CUDA_BACKEND OFF)
if(TESSERA_CUDA_TORCH_DIR)
  set(_dir "${TESSERA_CUDA_TORCH_DIR}")
  if(NOT EXISTS "${_dir}/lib/libtorch_cuda.so" OR NOT EXISTS "${_dir}/include/torch/csrc/api/include/torch/torch.h")
    message(FATAL_ERROR "TESSERA_CUDA_TORCH_DIR=${_dir} is not a CUDA build of PyTorch (no lib/libtorch_cuda.so or "
                        "C++ headers): install the torch wheel (scripts/setup does) or clear the variable")
  endif()
  find_path(TESSERA_CUDA_INCLUDE_DIR cuda_runtime_api.h
    HINTS "${_dir}/../nvidia/cu13/include" "${_dir}/../nvidia/cuda_runtime/include" "$ENV{CUDA_HOME}/include"
          /usr/local/cuda/include
    NO_DEFAULT_PATH)
  if(NOT TESSERA_CUDA_INCLUDE_DIR)
    message(FATAL_ERROR "no CUDA headers (cuda_runtime_api.h) beside ${_dir}: install the wheel with its "
                        "dependencies (pip install torch), or the CUDA toolkit")
  endif()
  # The CUDA runtime the backend's own calls (events, streams) go to: the one the wheel loads.
  # The wheel's own soname first, folder by folder: an unversioned libcudart.so from a toolkit of
  # another version must not be linked in its place.
  file(STRINGS "${_dir}/version.py" _cuda_line REGEX "^cuda *[:=]")
  string(REGEX MATCH "([0-9]+)\\.([0-9]+)" _ "${_cuda_line}")
  if(NOT CMAKE_MATCH_1)
    message(FATAL_ERROR "${_dir}/version.py names no CUDA version: not a CUDA build of PyTorch")
  endif()
  set(TESSERA_CUDA_TORCH_CUDA "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}")
  math(EXPR TESSERA_CUDA_DRIVER_MIN "${CMAKE_MATCH_1} * 1000 + ${CMAKE_MATCH_2} * 10")
  find_library(TESSERA_CUDART_LIBRARY NAMES libcudart.so.${CMAKE_MATCH_1} cudart NAMES_PER_DIR
    HINTS "${_dir}/../nvidia/cu13/lib" "${_dir}/../nvidia/cuda_runtime/lib" "$ENV{CUDA_HOME}/lib64"
          /usr/local/cuda/lib64
    NO_DEFAULT_PATH)
  if(NOT TESSERA_CUDART_LIBRARY)
    message(FATAL_ERROR "no CUDA runtime (libcudart) beside ${_dir}: install the wheel with its dependencies")
  endif()
  file(STRINGS "${_dir}/version.py" _version_line REGEX "^__version__")
  string(REGEX MATCH "'([^']+)'" _ "${_version_line}")
  set(TESSERA_CUDA_TORCH_VERSION "${CMAKE_MATCH_1}")
  add_library(tessera_torch_cuda INTERFACE)
  add_library(tessera::torch_cuda ALIAS tessera_torch_cuda)
  target_include_directories(tessera_torch_cuda SYSTEM INTERFACE
    "${_dir}/include" "${_dir}/include/torch/csrc/api/include" "${TESSERA_CUDA_INCLUDE_DIR}")
  target_compile_definitions(tessera_torch_cuda INTERFACE _GLIBCXX_USE_CXX11_ABI=1 TESSERA_BACKEND_CUDA=1)
  # libtorch_cuda registers the CUDA kernels from its static initialisers; nothing calls it by
  # name, so --as-needed would drop it.
  target_link_libraries(tessera_torch_cuda INTERFACE
    "${_dir}/lib/libtorch.so" "${_dir}/lib/libtorch_cpu.so" "${_dir}/lib/libc10.so"
    "-Wl,--no-as-needed" "${_dir}/lib/libtorch_cuda.so" "${_dir}/lib/libc10_cuda.so" "-Wl,--as-needed"
    "${TESSERA_CUDART_LIBRARY}")
  set(TESSERA_CUDA_BACKEND ON)
  message(STATUS "CUDA backend: libtorch ${TESSERA_CUDA_TORCH_VERSION}, CUDA ${TESSERA_CUDA_TORCH_CUDA} (${_dir})")
else()
  message(STATUS "CUDA backend: not built (no PyTorch wheel; scripts/setup installs it)")
endif()
