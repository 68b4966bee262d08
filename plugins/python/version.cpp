#include "plugins/python/version.hpp"

#include <Python.h>

namespace suz::python {
std::string build_version() { return PY_VERSION; }
}
