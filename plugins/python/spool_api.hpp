#pragma once
// suzerain._spool(args, body, at_ms, priority): the C half of
// suzerain.spool(), which checks and converts its arguments in Python.
#include <Python.h>

#include <string>

namespace suz::python {

// The spool this process enqueues into ("" when the vassal has none); set by
// the plugin before the app loads.
void set_spool_dir(std::string dir);

PyObject* spool_job(PyObject* module, PyObject* args);
// suzerain._spool_many([(args, body, at_ms, priority), ...]) -> [id, ...]
PyObject* spool_jobs(PyObject* module, PyObject* specs);

}  // namespace suz::python
