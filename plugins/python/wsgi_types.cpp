#include "plugins/python/wsgi_types.hpp"

#include "plugins/python/errors.hpp"

namespace suz::python {

PyType_Spec input_type_spec();
PyType_Spec start_response_type_spec();

WsgiTypes WsgiTypes::create() {
  static PyType_Spec input = input_type_spec();
  static PyType_Spec start_response = start_response_type_spec();
  WsgiTypes t;
  t.input_type = Ref(PyType_FromSpec(&input));
  t.start_response_type = Ref(PyType_FromSpec(&start_response));
  if (!t.input_type || !t.start_response_type) throw PythonError("cannot create the WSGI types");
  return t;
}

}  // namespace suz::python
