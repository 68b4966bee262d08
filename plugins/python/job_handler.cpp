#include "plugins/python/job_handler.hpp"

#include <cmath>

#include "plugins/python/errors.hpp"
#include "plugins/python/import_callable.hpp"

namespace suz::python {

namespace {

Ref bytes_of(const std::string& s) { return Ref(PyBytes_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size()))); }

Ref text_of(const std::string& s) {
  return Ref(PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "surrogateescape"));
}

Ref args_of(const Job& job) {
  Ref dict(PyDict_New());
  if (!dict) return dict;
  for (const auto& [k, v] : job.args) {
    Ref key = text_of(k), value = text_of(v);
    if (!key || !value || PyDict_SetItem(dict.get(), key.get(), value.get()) < 0) return Ref();
  }
  return dict;
}

}  // namespace

JobHandler::JobHandler(const std::string& spec) : spec_(spec), callable_(import_callable(spec, "the job handler")) {
  Ref suzerain(PyImport_ImportModule("suzerain"));
  if (!suzerain) throw PythonError("cannot import suzerain");
  job_type_ = Ref(PyObject_GetAttrString(suzerain.get(), "Job"));
  retry_type_ = Ref(PyObject_GetAttrString(suzerain.get(), "Retry"));
  if (!job_type_ || !retry_type_) throw PythonError("suzerain.Job or suzerain.Retry is missing");
}

JobOutcome JobHandler::run(const Job& job) {
  Ref id = text_of(job.name.id), args = args_of(job), body = bytes_of(job.body);
  Ref attempt(PyLong_FromLong(job.name.attempt + 1));  // 1 on the first run: as people count
  Ref priority(PyLong_FromLong(job.name.priority));
  Ref at(PyFloat_FromDouble(static_cast<double>(job.name.at_ms) / 1000));
  Ref created(PyFloat_FromDouble(static_cast<double>(job.created_ms) / 1000));
  Ref last_error = text_of(job.last_error);
  Ref result;
  if (id && args && body && attempt && priority && at && created && last_error) {
    Ref py_job(PyObject_CallFunctionObjArgs(job_type_.get(), id.get(), args.get(), body.get(), attempt.get(),
                                            priority.get(), at.get(), created.get(), last_error.get(), nullptr));
    if (py_job) result = Ref(PyObject_CallOneArg(callable_.get(), py_job.get()));
  }
  if (result) return {};

  JobOutcome failed;
  failed.done = false;
  PyObject* raised = PyErr_Occurred();  // borrowed
  if (raised && PyErr_GivenExceptionMatches(raised, retry_type_.get())) {
    PyObject *type, *value, *trace;
    PyErr_Fetch(&type, &value, &trace);
    PyErr_NormalizeException(&type, &value, &trace);
    Ref t(type), v(value), tb(trace);
    Ref reason(v ? PyObject_Str(v.get()) : nullptr);
    const char* text = reason ? PyUnicode_AsUTF8(reason.get()) : nullptr;
    failed.error = std::string("retry requested: ") + (text ? text : "");
    Ref after(v ? PyObject_GetAttrString(v.get(), "after") : nullptr);
    if (after && after.get() != Py_None) {
      double seconds = PyFloat_AsDouble(after.get());
      if (!std::isnan(seconds) && seconds >= 0 && !PyErr_Occurred())
        failed.retry_after = Duration(static_cast<Duration::rep>(std::llround(seconds * 1000)));
    }
    PyErr_Clear();
    return failed;
  }
  failed.error = take_traceback();
  if (failed.error.empty()) failed.error = "the handler failed without an exception";
  return failed;
}

}  // namespace suz::python
