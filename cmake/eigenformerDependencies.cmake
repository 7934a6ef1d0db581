# Finds eigenformer's dependencies. Used by the build tree (CMakeLists.txt) and by the installed
# eigenformerConfig.cmake, so that both see exactly the same targets.
#
# Debian 12's xsimd 8.1 package exports a target whose INTERFACE_LINK_LIBRARIES names `xtl`, a
# library Debian does not ship with it. xsimd does not need xtl for anything we use, so when no
# real xtl target exists we define an empty one before looking for xsimd.

if(NOT TARGET xtl)
  find_package(xtl QUIET CONFIG)
  if(NOT TARGET xtl)
    add_library(xtl INTERFACE IMPORTED GLOBAL)
  endif()
endif()

# Imported targets are local to the directory that found them. In the build tree
# (EIGENFORMER_PROMOTE_DEPENDENCIES, set by CMakeLists.txt) the ones we found ourselves are made
# global, so a parent project that uses add_subdirectory(eigenformer) can link
# eigenformer::eigenformer. The installed config leaves its consumer's targets alone.
foreach(_ef_dep IN ITEMS Eigen3 xsimd nlohmann_json)
  if(_ef_dep STREQUAL "Eigen3")
    find_package(Eigen3 3.4 REQUIRED CONFIG)
    set(_ef_target Eigen3::Eigen)
  elseif(_ef_dep STREQUAL "xsimd")
    find_package(xsimd 8.1 REQUIRED CONFIG)
    set(_ef_target xsimd)
  else()
    find_package(nlohmann_json 3.10 REQUIRED CONFIG)
    set(_ef_target nlohmann_json::nlohmann_json)
  endif()
  get_target_property(_ef_imported ${_ef_target} IMPORTED)
  get_target_property(_ef_global ${_ef_target} IMPORTED_GLOBAL)
  get_target_property(_ef_dir ${_ef_target} SOURCE_DIR)
  if(EIGENFORMER_PROMOTE_DEPENDENCIES AND _ef_imported AND NOT _ef_global
     AND _ef_dir STREQUAL CMAKE_CURRENT_SOURCE_DIR)
    set_target_properties(${_ef_target} PROPERTIES IMPORTED_GLOBAL TRUE)
  endif()
endforeach()
unset(_ef_dep)
unset(_ef_target)
unset(_ef_imported)
unset(_ef_global)
unset(_ef_dir)
