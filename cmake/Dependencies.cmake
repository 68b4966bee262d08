# Every dependency comes from Debian's packages (scripts/install-deps).

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(tomlplusplus REQUIRED)   # compiled library: sets TOML_HEADER_ONLY=0
find_package(CLI11 REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS filesystem)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)

# libev ships neither a .pc nor a CMake config.
function(suzerain_import_library target header library)
  find_path(${target}_INCLUDE_DIR ${header} REQUIRED)
  find_library(${target}_LIBRARY ${library} REQUIRED)
  add_library(${target}::${target} UNKNOWN IMPORTED GLOBAL)
  set_target_properties(${target}::${target} PROPERTIES
    IMPORTED_LOCATION ${${target}_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${${target}_INCLUDE_DIR})
endfunction()
suzerain_import_library(libev ev.h ev)

# CPython: the interpreter named by SUZERAIN_PYTHON decides which libpython is
# embedded. A pyenv shim is first on PATH on our machines, so never search PATH.
if(SUZERAIN_PYTHON_DEBUG)
  set(SUZERAIN_PYTHON "/usr/bin/python3.11d" CACHE FILEPATH "" FORCE)
endif()
set(Python3_EXECUTABLE ${SUZERAIN_PYTHON})
set(Python3_FIND_STRATEGY LOCATION)
set(Python3_FIND_VIRTUALENV STANDARD)
find_package(Python3 REQUIRED COMPONENTS Interpreter Development.Embed)
message(STATUS "Embedding CPython ${Python3_VERSION} from ${Python3_EXECUTABLE} (${Python3_LIBRARIES})")
