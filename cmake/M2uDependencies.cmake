# M2uDependencies.cmake - how .cu files and the CUDA platform are built per
# flavour, and the third-party libraries every flavour uses.
#
# m2u_cuda_sources(<source>...) marks kernel sources: in the cuda flavour they
# stay CUDA (nvcc, C++14); in the emu flavour they are compiled as C++14 by
# the host compiler.
# m2u_cuda_platform is the target every kernel or runtime library links: the
# CUDA runtime (cudart) or the SIMT emulation (which also provides the
# runtime API subset m2urt uses).

function(m2u_cuda_sources)
  if(M2U_FLAVOUR STREQUAL "emu")
    set_source_files_properties(${ARGN} DIRECTORY ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}
      PROPERTIES LANGUAGE CXX COMPILE_OPTIONS "-xc++;-std=c++14")
  endif()
endfunction()

if(M2U_FLAVOUR STREQUAL "cuda")
  find_package(CUDAToolkit REQUIRED)
  set(M2U_CUDA_INCLUDE_DIRS ${CUDAToolkit_INCLUDE_DIRS})
else()
  # The emu flavour needs the toolkit's headers only (no nvcc, no driver).
  find_path(M2U_CUDA_INCLUDE_DIR cuda_runtime_api.h
    HINTS ENV CUDA_HOME ENV CUDA_PATH
    PATHS /usr/local/cuda/include /usr/local/cuda/targets/x86_64-linux/include /usr/include
    PATH_SUFFIXES include)
  if(NOT M2U_CUDA_INCLUDE_DIR)
    message(FATAL_ERROR "CUDA headers (cuda_runtime_api.h) not found: install the CUDA "
                        "toolkit or set CUDA_HOME")
  endif()
  set(M2U_CUDA_INCLUDE_DIRS ${M2U_CUDA_INCLUDE_DIR})
  find_library(M2U_BOOST_CONTEXT boost_context)
  find_path(M2U_BOOST_CONTEXT_INCLUDE_DIR boost/context/detail/fcontext.hpp)
  if(NOT M2U_BOOST_CONTEXT OR NOT M2U_BOOST_CONTEXT_INCLUDE_DIR)
    message(FATAL_ERROR "Boost.Context not found (Debian: libboost-context-dev)")
  endif()
endif()

# stb_image (Debian libstb-dev: headers plus the compiled libstb), for the
# runtime's and the examples' image input and output: target m2u_stb.
find_path(M2U_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb)
find_library(M2U_STB_LIBRARY stb)
if(NOT M2U_STB_INCLUDE_DIR OR NOT M2U_STB_LIBRARY)
  message(FATAL_ERROR "stb_image not found (Debian: libstb-dev)")
endif()
add_library(m2u_stb INTERFACE)
target_include_directories(m2u_stb SYSTEM INTERFACE ${M2U_STB_INCLUDE_DIR})
target_link_libraries(m2u_stb INTERFACE ${M2U_STB_LIBRARY})
