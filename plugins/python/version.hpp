#pragma once
// The CPython this build embeds. Nothing outside plugins/python includes Python.h.
#include <string>

namespace suz::python {
std::string build_version();  // "3.11.2"
}
