#include "plugins/python/import_callable.hpp"

#include "plugins/python/errors.hpp"

namespace suz::python {

Ref import_callable(const std::string& spec, const std::string& role) {
  auto colon = spec.find(':');
  std::string module_name = spec.substr(0, colon), attribute = spec.substr(colon + 1);
  Ref module(PyImport_ImportModule(module_name.c_str()));
  if (!module) throw PythonError("cannot import " + module_name + " (for " + spec + ")");
  // "pkg.wsgi:app.wsgi_app": walk dotted attributes.
  Ref target = Ref::borrow(module.get());
  for (std::size_t start = 0; start <= attribute.size();) {
    std::size_t dot = attribute.find('.', start);
    std::string part = attribute.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    target = Ref(PyObject_GetAttrString(target.get(), part.c_str()));
    if (!target) throw PythonError("module " + module_name + " has no attribute " + attribute);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (!PyCallable_Check(target.get())) {
    PyErr_Format(PyExc_TypeError, "%s is %.100s, not a callable", spec.c_str(), Py_TYPE(target.get())->tp_name);
    throw PythonError(role + " " + spec + " is not callable");
  }
  return target;
}

}  // namespace suz::python
