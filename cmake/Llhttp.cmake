# llhttp, the HTTP/1.1 parser: Debian's node-llhttp package ships its
# generated C sources rather than a library, so they are built here into a
# small static one. Its lenient flags stay off (vassal/http_request_parser.cpp).
set(SUZERAIN_LLHTTP_DIR /usr/share/llhttp CACHE PATH "llhttp's C sources (node-llhttp)")
find_path(LLHTTP_INCLUDE_DIR llhttp.h PATHS /usr/share/include/llhttp NO_DEFAULT_PATH REQUIRED)
foreach(source llhttp.c api.c http.c)
  if(NOT EXISTS ${SUZERAIN_LLHTTP_DIR}/${source})
    message(FATAL_ERROR "llhttp: ${SUZERAIN_LLHTTP_DIR}/${source} missing (scripts/install-deps build installs node-llhttp)")
  endif()
endforeach()
file(STRINGS ${LLHTTP_INCLUDE_DIR}/llhttp.h llhttp_version REGEX "#define LLHTTP_VERSION_(MAJOR|MINOR) ")
string(REGEX REPLACE ".*MAJOR ([0-9]+).*MINOR ([0-9]+).*" "\\1.\\2" llhttp_version "${llhttp_version}")
if(llhttp_version VERSION_LESS 8.1)
  message(FATAL_ERROR "llhttp ${llhttp_version} found in ${LLHTTP_INCLUDE_DIR}; 8.1 or newer is needed")
endif()
message(STATUS "llhttp ${llhttp_version} from ${SUZERAIN_LLHTTP_DIR}")

add_library(llhttp STATIC ${SUZERAIN_LLHTTP_DIR}/llhttp.c ${SUZERAIN_LLHTTP_DIR}/api.c ${SUZERAIN_LLHTTP_DIR}/http.c)
target_include_directories(llhttp SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
set_target_properties(llhttp PROPERTIES POSITION_INDEPENDENT_CODE ON C_STANDARD 99)
target_compile_options(llhttp PRIVATE -w)  # generated code, not ours to warn about
add_library(llhttp::llhttp ALIAS llhttp)
