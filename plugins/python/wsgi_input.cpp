// wsgi.input: reads the request body on demand from the connection, with the
// GIL released while it waits; never reads past the body (the reader ends
// where the body ends, for Content-Length and chunked bodies alike).
#include <string>

#include "plugins/python/wsgi_types.hpp"
#include "vassal/app.hpp"

namespace suz::python {
namespace {

struct InputState {
  BodyReader* body;
  std::string buffer;  // read ahead by readline()
  bool eof = false;
};

struct InputObject {
  PyObject_HEAD
  InputState* state;
};

constexpr std::size_t kChunk = 65536;

// Appends up to max bytes from the body to out; false at the end of the body.
// Returns -1 with a Python exception set on failure.
int fill(InputState& s, std::string& out, std::size_t max) {
  if (s.eof) return 0;
  std::size_t old = out.size();
  out.resize(old + max);
  std::size_t n = 0;
  std::string error;
  {
    GilRelease unlocked;
    try {
      n = s.body->read(out.data() + old, max);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  out.resize(old + n);
  if (!error.empty()) {
    PyErr_SetString(PyExc_OSError, ("reading the request body failed: " + error).c_str());
    return -1;
  }
  if (n == 0) s.eof = true;
  return n > 0 ? 1 : 0;
}

InputState* live_state(PyObject* self) {
  InputState* s = reinterpret_cast<InputObject*>(self)->state;
  if (!s || !s->body) {
    PyErr_SetString(PyExc_ValueError, "wsgi.input used after the request ended");
    return nullptr;
  }
  return s;
}

Py_ssize_t size_arg(PyObject* args, bool* ok) {
  PyObject* arg = Py_None;
  *ok = PyArg_ParseTuple(args, "|O", &arg);
  if (!*ok || arg == Py_None) return -1;
  Py_ssize_t n = PyNumber_AsSsize_t(arg, PyExc_OverflowError);
  if (n == -1 && PyErr_Occurred()) *ok = false;
  return n;
}

PyObject* take(InputState& s, std::size_t n) {
  PyObject* out = PyBytes_FromStringAndSize(s.buffer.data(), static_cast<Py_ssize_t>(n));
  s.buffer.erase(0, n);
  return out;
}

PyObject* input_read(PyObject* self, PyObject* args) {
  InputState* s = live_state(self);
  if (!s) return nullptr;
  bool ok;
  Py_ssize_t size = size_arg(args, &ok);
  if (!ok) return nullptr;
  if (size < 0) {
    for (int r; (r = fill(*s, s->buffer, kChunk)) != 0;)
      if (r < 0) return nullptr;
    return take(*s, s->buffer.size());
  }
  auto want = static_cast<std::size_t>(size);
  while (s->buffer.size() < want) {
    int r = fill(*s, s->buffer, std::max(want - s->buffer.size(), std::size_t{1}));
    if (r < 0) return nullptr;
    if (r == 0) break;
  }
  return take(*s, std::min(want, s->buffer.size()));
}

PyObject* input_readline(PyObject* self, PyObject* args) {
  InputState* s = live_state(self);
  if (!s) return nullptr;
  bool ok;
  Py_ssize_t size = size_arg(args, &ok);
  if (!ok) return nullptr;
  std::size_t limit = size < 0 ? SIZE_MAX : static_cast<std::size_t>(size);
  std::size_t scanned = 0;
  for (;;) {
    std::size_t nl = s->buffer.find('\n', scanned);
    if (nl != std::string::npos && nl < limit) return take(*s, nl + 1);
    if (s->buffer.size() >= limit) return take(*s, limit);
    scanned = s->buffer.size();
    int r = fill(*s, s->buffer, kChunk);
    if (r < 0) return nullptr;
    if (r == 0) return take(*s, s->buffer.size());
  }
}

PyObject* input_readlines(PyObject* self, PyObject* args) {
  bool ok;
  Py_ssize_t hint = size_arg(args, &ok);
  if (!ok) return nullptr;
  Ref lines(PyList_New(0));
  Py_ssize_t total = 0;
  PyObject* no_args = PyTuple_New(0);
  Ref hold(no_args);
  for (;;) {
    Ref line(input_readline(self, no_args));
    if (!line) return nullptr;
    Py_ssize_t n = PyBytes_GET_SIZE(line.get());
    if (n == 0) break;
    if (PyList_Append(lines.get(), line.get()) < 0) return nullptr;
    total += n;
    if (hint > 0 && total >= hint) break;
  }
  return lines.release();
}

PyObject* input_iter(PyObject* self) {
  Py_INCREF(self);
  return self;
}

PyObject* input_next(PyObject* self) {
  Ref no_args(PyTuple_New(0));
  Ref line(input_readline(self, no_args.get()));
  if (!line || PyBytes_GET_SIZE(line.get()) > 0) return line.release();
  return nullptr;  // StopIteration (no exception set)
}

void input_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  delete reinterpret_cast<InputObject*>(self)->state;
  type->tp_free(self);
  Py_DECREF(type);
}

PyMethodDef kInputMethods[] = {
    {"read", input_read, METH_VARARGS, "read([size]) -> bytes"},
    {"readline", input_readline, METH_VARARGS, "readline([size]) -> bytes"},
    {"readlines", input_readlines, METH_VARARGS, "readlines([hint]) -> list of bytes"},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot kInputSlots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(input_dealloc)},
    {Py_tp_iter, reinterpret_cast<void*>(input_iter)},
    {Py_tp_iternext, reinterpret_cast<void*>(input_next)},
    {Py_tp_methods, kInputMethods},
    {0, nullptr},
};

}  // namespace

PyType_Spec input_type_spec() {
  return PyType_Spec{"suzerain.Input", sizeof(InputObject), 0,
                     Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION, kInputSlots};
}

Ref new_input(const WsgiTypes& types, BodyReader& body) {
  auto* type = reinterpret_cast<PyTypeObject*>(types.input_type.get());
  PyObject* obj = type->tp_alloc(type, 0);
  if (!obj) return Ref();
  reinterpret_cast<InputObject*>(obj)->state = new InputState{&body, {}};
  return Ref(obj);
}

void detach_input(PyObject* input) {
  if (auto* s = reinterpret_cast<InputObject*>(input)->state) s->body = nullptr;
}

}  // namespace suz::python
