#include "plugins/python/errors.hpp"

#include "plugins/python/gil.hpp"

namespace suz::python {

std::string take_traceback() {
  if (!PyErr_Occurred()) return "";
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  Ref t(type), v(value), trace(tb);
  if (trace) PyException_SetTraceback(v.get(), trace.get());

  // traceback.format_exception(type, value, tb): the exact text Python prints.
  std::string text;
  Ref module(PyImport_ImportModule("traceback"));
  Ref lines(module ? PyObject_CallMethod(module.get(), "format_exception", "OOO", t.get() ? t.get() : Py_None,
                                         v.get() ? v.get() : Py_None, trace.get() ? trace.get() : Py_None)
                   : nullptr);
  if (lines) {
    Ref empty(PyUnicode_FromString(""));
    Ref joined(PyUnicode_Join(empty.get(), lines.get()));
    if (joined) {
      const char* s = PyUnicode_AsUTF8(joined.get());
      if (s) text = s;
    }
  }
  if (text.empty()) {  // formatting itself failed: fall back to str(value)
    PyErr_Clear();
    Ref s(v ? PyObject_Str(v.get()) : nullptr);
    const char* c = s ? PyUnicode_AsUTF8(s.get()) : nullptr;
    text = c ? c : "unknown Python error";
  }
  PyErr_Clear();
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace suz::python
