#pragma once
// The ASGI 3.0 HTTP connection scope of one request.
#include <Python.h>

#include "plugins/python/gil.hpp"
#include "vassal/loop_host.hpp"

namespace suz::python {

// state: the app's lifespan state, shallow-copied into the scope (null:
// the app has no lifespan, and the scope no "state"). GIL held; null with
// a Python exception on failure.
Ref http_scope(const AsyncExchange& x, PyObject* state);

}  // namespace suz::python
