# Code in another language (Python, Lua) lives in its own file, where editors,
# linters and py_compile see it, and reaches C++ as a generated header:
#
#   suzerain_embed_text(TARGET suzerain_python NAME kModuleSource
#                       SOURCE suzerain.py HEADER plugins/python/suzerain_py.hpp)
#
# makes ${CMAKE_BINARY_DIR}/generated/HEADER with
#   inline constexpr std::string_view kModuleSource = R"...(file text)...";
# in namespace suz::embedded, regenerated whenever SOURCE changes, and adds it
# to TARGET's sources. Run as a script (-P), this file writes one header.
if(CMAKE_SCRIPT_MODE_FILE)
  file(READ "${SOURCE}" text)
  set(delimiter "SUZ_EMBEDDED")
  string(FIND "${text}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${SOURCE} contains )${delimiter}\", the raw string's end")
  endif()
  file(WRITE "${HEADER}.tmp"
       "#pragma once\n// Generated from ${SOURCE} by cmake/EmbedText.cmake: edit that file.\n"
       "#include <string_view>\n\nnamespace suz::embedded {\n\n"
       "inline constexpr std::string_view ${NAME} = R\"${delimiter}(${text})${delimiter}\";\n\n}  // namespace suz::embedded\n")
  file(COPY_FILE "${HEADER}.tmp" "${HEADER}" ONLY_IF_DIFFERENT)
  file(REMOVE "${HEADER}.tmp")
  return()
endif()

set(SUZERAIN_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_FILE})

function(suzerain_embed_text)
  cmake_parse_arguments(PARSE_ARGV 0 EMBED "" "TARGET;NAME;SOURCE;HEADER" "")
  set(source ${CMAKE_CURRENT_SOURCE_DIR}/${EMBED_SOURCE})
  set(header ${CMAKE_BINARY_DIR}/generated/${EMBED_HEADER})
  add_custom_command(
    OUTPUT ${header}
    COMMAND ${CMAKE_COMMAND} -DSOURCE=${source} -DHEADER=${header} -DNAME=${EMBED_NAME} -P ${SUZERAIN_EMBED_SCRIPT}
    DEPENDS ${source} ${SUZERAIN_EMBED_SCRIPT}
    COMMENT "Embedding ${EMBED_SOURCE}"
    VERBATIM)
  target_sources(${EMBED_TARGET} PRIVATE ${header})
endfunction()
