#include "plugins/python/spool_api.hpp"

#include <unistd.h>

#include <system_error>

#include "plugins/python/gil.hpp"
#include "spooler/directory_queue.hpp"

namespace suz::python {

namespace {

std::string& spool_dir() {
  static std::string dir;
  return dir;
}

// One queue per process, used only with the GIL held (the GIL, unlike any
// lock of ours, is made sane by CPython in a forked child). A queue's group
// commit state belongs to the process that made it: a child forked while a
// parent thread was mid-sync would wait forever for a leader that is not
// there. So a child makes its own, and the parent's copy is left alone.
DirectoryQueue& queue_of_this_process() {
  static pid_t owner = 0;
  static DirectoryQueue* queue = nullptr;
  if (owner != ::getpid()) {
    queue = new DirectoryQueue(spool_dir());  // deliberately never freed: see above
    owner = ::getpid();
  }
  return *queue;
}

bool to_map(PyObject* dict, std::map<std::string, std::string>& out) {
  PyObject *key, *value;
  Py_ssize_t pos = 0;
  while (PyDict_Next(dict, &pos, &key, &value)) {
    Py_ssize_t klen, vlen;
    const char* k = PyUnicode_AsUTF8AndSize(key, &klen);
    const char* v = k ? PyUnicode_AsUTF8AndSize(value, &vlen) : nullptr;
    if (!v) return false;
    out.emplace(std::string(k, static_cast<std::size_t>(klen)), std::string(v, static_cast<std::size_t>(vlen)));
  }
  return true;
}

}  // namespace

void set_spool_dir(std::string dir) { spool_dir() = std::move(dir); }

PyObject* spool_job(PyObject*, PyObject* args) {
  PyObject *dict, *body_bytes, *at;
  int priority;
  if (!PyArg_ParseTuple(args, "O!SOi", &PyDict_Type, &dict, &body_bytes, &at, &priority)) return nullptr;
  char* body;
  Py_ssize_t body_len;
  if (PyBytes_AsStringAndSize(body_bytes, &body, &body_len) < 0) return nullptr;
  if (spool_dir().empty()) {
    PyErr_SetString(PyExc_RuntimeError, "suzerain.spool(): this vassal has no [spooler] dir to spool into");
    return nullptr;
  }
  JobSpec spec;
  spec.body.assign(body, static_cast<std::size_t>(body_len));
  spec.priority = priority;
  if (!to_map(dict, spec.args)) return nullptr;
  if (at != Py_None) {
    long long ms = PyLong_AsLongLong(at);
    if (ms == -1 && PyErr_Occurred()) return nullptr;
    spec.at_ms = ms;
  }
  std::string id;
  try {
    DirectoryQueue& queue = queue_of_this_process();
    GilRelease unlocked;  // the push waits for a disk flush
    id = queue.push(spec);
  } catch (const std::system_error& e) {
    // OSError(errno, "create /spool/tmp/...: No space left on device"): e.errno works.
    Ref value(Py_BuildValue("(is)", e.code().value(), e.what()));
    if (value) PyErr_SetObject(PyExc_OSError, value.get());
    return nullptr;
  } catch (const std::invalid_argument& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
    return nullptr;
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return nullptr;
  }
  return PyUnicode_FromStringAndSize(id.data(), static_cast<Py_ssize_t>(id.size()));
}

}  // namespace suz::python
