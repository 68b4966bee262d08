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

# libev and http-parser ship neither a .pc nor a CMake config.
find_path(LIBEV_INCLUDE_DIR ev.h REQUIRED)
find_library(LIBEV_LIBRARY ev REQUIRED)
add_library(libev::libev UNKNOWN IMPORTED)
set_target_properties(libev::libev PROPERTIES
  IMPORTED_LOCATION ${LIBEV_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${LIBEV_INCLUDE_DIR})

find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h REQUIRED)
find_library(HTTP_PARSER_LIBRARY http_parser REQUIRED)
add_library(http_parser::http_parser UNKNOWN IMPORTED)
set_target_properties(http_parser::http_parser PROPERTIES
  IMPORTED_LOCATION ${HTTP_PARSER_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${HTTP_PARSER_INCLUDE_DIR})

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
