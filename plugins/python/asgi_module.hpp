#pragma once
// The ASGI worker's Python side (asgi_module.cpp, asgi.py).
#include <Python.h>

#include <string>

#include "vassal/loop_host.hpp"

namespace suz::python {

// Before the interpreter starts, with the suzerain module.
void register_asgi_module();

// Why app is not an ASGI 3 application ("" if it is). GIL held; throws PythonError.
std::string asgi_refusal(PyObject* app);

// Runs the worker's event loop on the calling thread until host asks it to
// stop. apps: a list of (callable, spec) by app index; loop: "asyncio" or
// "uvloop"; lifespan: "auto", "on" or "off". GIL held; failures are logged.
void run_asgi_loop(LoopHost& host, PyObject* apps, const char* loop, const char* lifespan, int threads);

}  // namespace suz::python
