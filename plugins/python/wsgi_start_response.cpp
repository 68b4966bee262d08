// start_response and the write() callable it returns (PEP 3333):
// - a second call without exc_info is an error;
// - with exc_info after the headers went out, the exception is re-raised;
// - status and headers are checked here, so a CR/LF in a header value can
//   never split the response.
#include <string>

#include "plugins/python/wsgi_types.hpp"
#include "vassal/app.hpp"

namespace suz::python {
namespace {

struct StartResponseObject {
  PyObject_HEAD
  ResponseWriter* writer;
  bool called;
};

ResponseWriter* live_writer(PyObject* self) {
  auto* o = reinterpret_cast<StartResponseObject*>(self);
  if (!o->writer) PyErr_SetString(PyExc_ValueError, "start_response used after the request ended");
  return o->writer;
}

bool latin1(PyObject* s, const char* what, std::string& out) {
  if (!PyUnicode_Check(s)) {
    PyErr_Format(PyExc_TypeError, "%s must be str, not %.100s", what, Py_TYPE(s)->tp_name);
    return false;
  }
  Ref bytes(PyUnicode_AsLatin1String(s));
  if (!bytes) return false;
  out.assign(PyBytes_AS_STRING(bytes.get()), static_cast<std::size_t>(PyBytes_GET_SIZE(bytes.get())));
  for (char c : out) {
    if (c == '\r' || c == '\n' || c == '\0') {
      PyErr_Format(PyExc_ValueError, "%s contains a control character (CR, LF or NUL)", what);
      return false;
    }
  }
  return true;
}

bool valid_token(const std::string& name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (c <= 32 || c >= 127 || std::string_view("()<>@,;:\\\"/[]?={}").find(static_cast<char>(c)) != std::string_view::npos)
      return false;
  return true;
}

PyObject* start_response_call(PyObject* self, PyObject* args, PyObject* kwargs) {
  static const char* kw[] = {"status", "headers", "exc_info", nullptr};
  PyObject *status_obj, *headers_obj, *exc_info = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|O:start_response", const_cast<char**>(kw), &status_obj,
                                   &headers_obj, &exc_info))
    return nullptr;
  ResponseWriter* writer = live_writer(self);
  if (!writer) return nullptr;
  auto* o = reinterpret_cast<StartResponseObject*>(self);

  if (exc_info != Py_None) {
    if (writer->started()) {
      // Too late to change the response: re-raise the app's exception.
      PyObject *type, *value, *tb;
      if (!PyArg_ParseTuple(exc_info, "OOO", &type, &value, &tb)) return nullptr;
      Py_INCREF(type);
      Py_INCREF(value);
      Py_INCREF(tb);
      PyErr_Restore(type, value, tb == Py_None ? nullptr : tb);
      return nullptr;
    }
  } else if (o->called) {
    PyErr_SetString(PyExc_AssertionError, "start_response called a second time without exc_info");
    return nullptr;
  }

  std::string status;
  if (!latin1(status_obj, "status", status)) return nullptr;
  if (status.size() < 4 || !std::isdigit(static_cast<unsigned char>(status[0])) ||
      !std::isdigit(static_cast<unsigned char>(status[1])) || !std::isdigit(static_cast<unsigned char>(status[2])) ||
      status[3] != ' ') {
    PyErr_Format(PyExc_ValueError, "status must look like \"200 OK\", got %R", status_obj);
    return nullptr;
  }
  if (!PyList_Check(headers_obj)) {
    PyErr_Format(PyExc_TypeError, "headers must be a list, not %.100s", Py_TYPE(headers_obj)->tp_name);
    return nullptr;
  }
  ResponseWriter::Headers headers;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(headers_obj); ++i) {
    PyObject* item = PyList_GET_ITEM(headers_obj, i);
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
      PyErr_Format(PyExc_TypeError, "each header must be a (name, value) tuple, got %R", item);
      return nullptr;
    }
    std::string name, value;
    if (!latin1(PyTuple_GET_ITEM(item, 0), "header name", name) ||
        !latin1(PyTuple_GET_ITEM(item, 1), "header value", value))
      return nullptr;
    if (!valid_token(name)) {
      PyErr_Format(PyExc_ValueError, "invalid header name %R", PyTuple_GET_ITEM(item, 0));
      return nullptr;
    }
    headers.emplace_back(std::move(name), std::move(value));
  }
  try {
    writer->start(std::move(status), std::move(headers));
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return nullptr;
  }
  o->called = true;
  return PyObject_GetAttrString(self, "write");
}

PyObject* write_method(PyObject* self, PyObject* data) {
  ResponseWriter* writer = live_writer(self);
  if (!writer) return nullptr;
  if (!reinterpret_cast<StartResponseObject*>(self)->called) {
    PyErr_SetString(PyExc_AssertionError, "write() called before start_response()");
    return nullptr;
  }
  Py_buffer view;
  if (!PyBytes_Check(data)) {
    PyErr_Format(PyExc_TypeError, "write() takes bytes, not %.100s", Py_TYPE(data)->tp_name);
    return nullptr;
  }
  if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) return nullptr;
  std::string error;
  {
    GilRelease unlocked;  // bytes are immutable and we hold a reference
    try {
      writer->write(std::string_view(static_cast<const char*>(view.buf), static_cast<std::size_t>(view.len)));
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  PyBuffer_Release(&view);
  if (!error.empty()) {
    PyErr_SetString(PyExc_OSError, ("writing the response failed: " + error).c_str());
    return nullptr;
  }
  Py_RETURN_NONE;
}

void start_response_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  type->tp_free(self);
  Py_DECREF(type);
}

PyMethodDef kMethods[] = {
    {"write", write_method, METH_O, "write(data): the PEP 3333 write() callable"},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot kSlots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(start_response_dealloc)},
    {Py_tp_call, reinterpret_cast<void*>(start_response_call)},
    {Py_tp_methods, kMethods},
    {0, nullptr},
};

}  // namespace

PyType_Spec start_response_type_spec() {
  return PyType_Spec{"suzerain.StartResponse", sizeof(StartResponseObject), 0,
                     Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION, kSlots};
}

Ref new_start_response(const WsgiTypes& types, ResponseWriter& writer) {
  auto* type = reinterpret_cast<PyTypeObject*>(types.start_response_type.get());
  PyObject* obj = type->tp_alloc(type, 0);
  if (!obj) return Ref();
  auto* o = reinterpret_cast<StartResponseObject*>(obj);
  o->writer = &writer;
  o->called = false;
  return Ref(obj);
}

void detach_start_response(PyObject* start_response) {
  reinterpret_cast<StartResponseObject*>(start_response)->writer = nullptr;
}

bool start_response_called(PyObject* start_response) {
  return reinterpret_cast<StartResponseObject*>(start_response)->called;
}

}  // namespace suz::python
