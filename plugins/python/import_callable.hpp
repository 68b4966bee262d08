#pragma once
// "pkg.module:attr.attr" to the callable it names, in the current
// interpreter (GIL held). Throws PythonError naming the spec and the role
// ("the WSGI app", "the job handler") with the traceback.
#include <string>

#include "plugins/python/gil.hpp"

namespace suz::python {

Ref import_callable(const std::string& spec, const std::string& role);

}  // namespace suz::python
