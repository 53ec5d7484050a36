# cmake -DIN=<file> -DOUT=<header> -DNAME=<identifier> -P embed_text.cmake
# Writes a header holding the text of IN as attnzoo::torchscript::NAME, a
# string constant; OUT is rewritten only when the text changed.
file(READ "${IN}" text)
set(delimiter "attnzoo_ts")
string(FIND "${text}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains )${delimiter}\", which would end the raw string early")
endif()
file(WRITE "${OUT}.tmp"
  "// Generated at build time from ${IN}: edit that file, not this one.\n"
  "#pragma once\n"
  "namespace attnzoo::torchscript {\n"
  "inline constexpr char ${NAME}[] = R\"${delimiter}(${text})${delimiter}\";\n"
  "}  // namespace attnzoo::torchscript\n")
configure_file("${OUT}.tmp" "${OUT}" COPYONLY)
file(REMOVE "${OUT}.tmp")
