// _suzerain_asgi: the C half of the ASGI worker (asgi.py is the other):
// the Exchange type over one request's AsyncExchange, the worker's side of
// the loop (LoopHost) as module functions, and the entry point that runs
// the loop on the calling thread.
#include "plugins/python/asgi_module.hpp"

#include <spdlog/spdlog.h>

#include <string>

#include "plugins/python/asgi_py.hpp"  // generated from asgi.py
#include "plugins/python/asgi_scope.hpp"
#include "plugins/python/errors.hpp"
#include "plugins/python/module.hpp"

namespace suz::python {
namespace {

LoopHost* g_host = nullptr;  // the worker's, while run_asgi_loop runs (one loop per process)

struct ExchangeObject {
  PyObject_HEAD
  AsyncExchange* x;  // null once done()
};

AsyncExchange* live(PyObject* self) {
  AsyncExchange* x = reinterpret_cast<ExchangeObject*>(self)->x;
  if (!x) PyErr_SetString(PyExc_RuntimeError, "the request is over: its response is complete");
  return x;
}

PyObject* ex_read(PyObject* self, PyObject* arg) {
  AsyncExchange* x = live(self);
  if (!x) return nullptr;
  Py_ssize_t max = PyLong_AsSsize_t(arg);
  if (max < 0) return PyErr_Occurred() ? nullptr : Py_BuildValue("(y#i)", "", 0, 0);
  Ref bytes(PyBytes_FromStringAndSize(nullptr, max));
  if (!bytes) return nullptr;
  std::size_t n = 0;
  AsyncExchange::Read got = x->read_body(PyBytes_AS_STRING(bytes.get()), static_cast<std::size_t>(max), n);
  if (n != static_cast<std::size_t>(max)) {
    PyObject* b = bytes.release();
    if (_PyBytes_Resize(&b, static_cast<Py_ssize_t>(n)) < 0) return nullptr;
    bytes = Ref(b);
  }
  return Py_BuildValue("(Ni)", bytes.release(), static_cast<int>(got));
}

PyObject* ex_closed(PyObject* self, PyObject*) {
  AsyncExchange* x = live(self);
  if (!x) return nullptr;
  return PyLong_FromLong(static_cast<long>(x->peer()));
}

// A header name or value from the app: bytes (str accepted as latin-1),
// without CR, LF or NUL (they would split the response).
bool header_text(PyObject* o, const char* what, std::string& out) {
  const char* data;
  Py_ssize_t size;
  Ref latin1;
  if (PyBytes_Check(o)) {
    data = PyBytes_AS_STRING(o);
    size = PyBytes_GET_SIZE(o);
  } else if (PyUnicode_Check(o)) {
    latin1 = Ref(PyUnicode_AsLatin1String(o));
    if (!latin1) return false;
    data = PyBytes_AS_STRING(latin1.get());
    size = PyBytes_GET_SIZE(latin1.get());
  } else {
    PyErr_Format(PyExc_TypeError, "header %s must be bytes, got %.100s", what, Py_TYPE(o)->tp_name);
    return false;
  }
  out.assign(data, static_cast<std::size_t>(size));
  for (char c : out)
    if (c == '\r' || c == '\n' || c == '\0') {
      PyErr_Format(PyExc_ValueError, "header %s %R contains a control character (CR, LF or NUL)", what, o);
      return false;
    }
  if (out.empty() && what[0] == 'n') {
    PyErr_SetString(PyExc_ValueError, "empty header name");
    return false;
  }
  return true;
}

PyObject* ex_start(PyObject* self, PyObject* args) {
  int status;
  PyObject* headers;
  if (!PyArg_ParseTuple(args, "iO", &status, &headers)) return nullptr;
  AsyncExchange* x = live(self);
  if (!x) return nullptr;
  if (status < 100 || status > 999) return PyErr_Format(PyExc_ValueError, "invalid HTTP status %d", status);
  ResponseWriter::Headers out;
  Ref it(PyObject_GetIter(headers));
  if (!it) return nullptr;
  while (Ref item{PyIter_Next(it.get())}) {
    Ref pair(PySequence_Fast(item.get(), "each header must be a [name, value] pair"));
    if (!pair) return nullptr;
    if (PySequence_Fast_GET_SIZE(pair.get()) != 2)
      return PyErr_Format(PyExc_ValueError, "each header must be a [name, value] pair, got %R", item.get());
    std::string name, value;
    if (!header_text(PySequence_Fast_GET_ITEM(pair.get(), 0), "name", name) ||
        !header_text(PySequence_Fast_GET_ITEM(pair.get(), 1), "value", value))
      return nullptr;
    out.emplace_back(std::move(name), std::move(value));
  }
  if (PyErr_Occurred()) return nullptr;
  x->start(status, std::move(out));
  Py_RETURN_NONE;
}

PyObject* ex_write(PyObject* self, PyObject* args) {
  Py_buffer body;
  int last;
  if (!PyArg_ParseTuple(args, "y*p", &body, &last)) return nullptr;
  AsyncExchange* x = live(self);
  if (x) {
    try {
      x->write(std::string_view(static_cast<const char*>(body.buf), static_cast<std::size_t>(body.len)), last != 0);
    } catch (const std::logic_error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  }
  PyBuffer_Release(&body);
  if (PyErr_Occurred()) return nullptr;
  Py_RETURN_NONE;
}

PyObject* ex_queued(PyObject* self, PyObject*) {
  AsyncExchange* x = live(self);
  return x ? PyLong_FromSize_t(x->queued()) : nullptr;
}

PyObject* ex_flush(PyObject* self, PyObject*) {
  AsyncExchange* x = live(self);
  if (!x) return nullptr;
  x->flush();
  Py_RETURN_NONE;
}

PyObject* ex_gone(PyObject* self, PyObject*) {
  AsyncExchange* x = reinterpret_cast<ExchangeObject*>(self)->x;
  return PyBool_FromLong(!x || x->client_gone());
}

PyObject* ex_give_up(PyObject* self, PyObject* arg) {
  AsyncExchange* x = live(self);
  if (!x) return nullptr;
  Ref why(PyObject_Str(arg));
  const char* text = why ? PyUnicode_AsUTF8(why.get()) : nullptr;
  if (!text) return nullptr;
  x->give_up(text);
  Py_RETURN_NONE;
}

PyObject* ex_done(PyObject* self, PyObject* arg) {
  auto* o = reinterpret_cast<ExchangeObject*>(self);
  if (!o->x) Py_RETURN_NONE;
  AsyncExchange* x = o->x;
  o->x = nullptr;
  x->done(PyObject_IsTrue(arg) == 1);
  Py_RETURN_NONE;
}

PyObject* ex_line(PyObject* self, PyObject*) {
  AsyncExchange* x = live(self);
  if (!x) return nullptr;
  std::string line = x->request_line();
  return PyUnicode_DecodeLatin1(line.data(), static_cast<Py_ssize_t>(line.size()), nullptr);
}

PyObject* ex_scope(PyObject* self, PyObject* state) {
  AsyncExchange* x = live(self);
  if (!x) return nullptr;
  return http_scope(*x, state == Py_None ? nullptr : state).release();
}

PyObject* ex_fd(PyObject* self, void*) {
  AsyncExchange* x = live(self);
  return x ? PyLong_FromLong(x->fd()) : nullptr;
}

PyObject* ex_app_index(PyObject* self, void*) {
  AsyncExchange* x = live(self);
  return x ? PyLong_FromSize_t(x->app_index()) : nullptr;
}

PyObject* ex_io_timeout(PyObject* self, void*) {
  AsyncExchange* x = live(self);
  return x ? PyFloat_FromDouble(std::chrono::duration<double>(x->io_timeout()).count()) : nullptr;
}

void ex_dealloc(PyObject* self) {
  // An exchange dropped without done() (its task was destroyed): the
  // connection must still go back, or the worker waits for it forever.
  auto* o = reinterpret_cast<ExchangeObject*>(self);
  if (o->x) o->x->done(false);
  Py_TYPE(self)->tp_free(self);
}

PyMethodDef kExchangeMethods[] = {
    {"read", ex_read, METH_O, "read(max) -> (bytes, state): body bytes without waiting."},
    {"closed", ex_closed, METH_NOARGS, "closed() -> 0 open, 1 closed, 2 buffer full."},
    {"start", ex_start, METH_VARARGS, "start(status, headers)"},
    {"write", ex_write, METH_VARARGS, "write(body, last)"},
    {"queued", ex_queued, METH_NOARGS, "queued() -> bytes the socket has not taken"},
    {"flush", ex_flush, METH_NOARGS, "flush(): send what is queued as far as the socket takes it"},
    {"gone", ex_gone, METH_NOARGS, "gone() -> whether the client went away"},
    {"give_up", ex_give_up, METH_O, "give_up(why): the client is too slow; close after"},
    {"done", ex_done, METH_O, "done(ok): the exchange is over; the connection goes back"},
    {"line", ex_line, METH_NOARGS, "line() -> 'GET /path'"},
    {"scope", ex_scope, METH_O, "scope(state) -> the ASGI HTTP scope"},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef kExchangeGetSet[] = {
    {"fd", ex_fd, nullptr, "the connection's socket", nullptr},
    {"app_index", ex_app_index, nullptr, "which mounted app", nullptr},
    {"io_timeout", ex_io_timeout, nullptr, "seconds", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyTypeObject kExchangeType = [] {
  PyTypeObject t{PyVarObject_HEAD_INIT(nullptr, 0)};
  t.tp_name = "_suzerain_asgi.Exchange";
  t.tp_basicsize = sizeof(ExchangeObject);
  t.tp_dealloc = ex_dealloc;
  t.tp_flags = Py_TPFLAGS_DEFAULT;
  t.tp_doc = "One request handed to the event loop.";
  t.tp_methods = kExchangeMethods;
  t.tp_getset = kExchangeGetSet;
  return t;
}();

PyObject* take(PyObject*, PyObject*) {
  std::vector<AsyncExchange*> ready = g_host->take();
  Ref list(PyList_New(static_cast<Py_ssize_t>(ready.size())));
  if (!list) return nullptr;
  for (std::size_t i = 0; i < ready.size(); ++i) {
    auto* o = PyObject_New(ExchangeObject, &kExchangeType);
    if (!o) {
      for (std::size_t j = i; j < ready.size(); ++j) ready[j]->done(false);
      return nullptr;
    }
    o->x = ready[i];
    PyList_SET_ITEM(list.get(), static_cast<Py_ssize_t>(i), reinterpret_cast<PyObject*>(o));
  }
  return list.release();
}

PyObject* started(PyObject*, PyObject* ok) {
  g_host->started(PyObject_IsTrue(ok) == 1);
  Py_RETURN_NONE;
}

PyObject* stop_requested(PyObject*, PyObject*) { return PyBool_FromLong(g_host->stop_requested()); }

PyObject* shutdown_bound(PyObject*, PyObject*) {
  return PyFloat_FromDouble(std::chrono::duration<double>(g_host->shutdown_bound()).count());
}

PyObject* wake_fd(PyObject*, PyObject*) { return PyLong_FromLong(g_host->wake_fd()); }

PyObject* turned(PyObject*, PyObject*) {
  g_host->turned();
  Py_RETURN_NONE;
}

PyMethodDef kMethods[] = {
    {"_take", take, METH_NOARGS, "The exchanges handed over since the last call."},
    {"_started", started, METH_O, "_started(ok): the apps' startup is over."},
    {"_stop_requested", stop_requested, METH_NOARGS, nullptr},
    {"_shutdown_bound", shutdown_bound, METH_NOARGS, "seconds"},
    {"_wake_fd", wake_fd, METH_NOARGS, "readable when _take() has something"},
    {"_turned", turned, METH_NOARGS, "the loop turned (the master watches for a blocked loop)"},
    {nullptr, nullptr, 0, nullptr},
};

int exec_module(PyObject* module) {
  if (PyModule_AddObject(module, "_TURN_INTERVAL", PyFloat_FromDouble(std::chrono::duration<double>(kLoopTurnInterval).count())) < 0)
    return -1;
  if (PyType_Ready(&kExchangeType) < 0) return -1;
  Py_INCREF(&kExchangeType);
  if (PyModule_AddObject(module, "Exchange", reinterpret_cast<PyObject*>(&kExchangeType)) < 0) return -1;
  return exec_embedded_source(module, embedded::kAsgiSource, "<suzerain asgi>");
}

PyModuleDef_Slot kSlots[] = {
    {Py_mod_exec, reinterpret_cast<void*>(exec_module)},
    {0, nullptr},
};

PyModuleDef kModule = {
    PyModuleDef_HEAD_INIT, "_suzerain_asgi", "Suzerain's ASGI worker.", 0, kMethods, kSlots,
    nullptr, nullptr, nullptr,
};

PyObject* init_module() { return PyModuleDef_Init(&kModule); }

}  // namespace

void register_asgi_module() { PyImport_AppendInittab("_suzerain_asgi", init_module); }

std::string asgi_refusal(PyObject* app) {
  Ref module(PyImport_ImportModule("_suzerain_asgi"));
  Ref why(module ? PyObject_CallMethod(module.get(), "_check", "O", app) : nullptr);
  if (!why) throw PythonError("cannot inspect the ASGI app");
  const char* text = PyUnicode_AsUTF8(why.get());
  if (!text) throw PythonError("cannot inspect the ASGI app");
  return text;
}

void run_asgi_loop(LoopHost& host, PyObject* apps, const char* loop, const char* lifespan, int threads) {
  g_host = &host;
  Ref module(PyImport_ImportModule("_suzerain_asgi"));
  Ref done(module ? PyObject_CallMethod(module.get(), "serve", "Ossi", apps, loop, lifespan, threads) : nullptr);
  if (!done) spdlog::critical("the event loop failed: {}", take_traceback());
  g_host = nullptr;
}

}  // namespace suz::python
