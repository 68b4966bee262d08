#include "plugins/python/spool_api.hpp"

#include <unistd.h>

#include <system_error>

#include "plugins/python/gil.hpp"
#include "spooler/job_queue.hpp"

namespace suz::python {

namespace {

std::string& spool_dir() {
  static std::string dir;
  return dir;
}

// One queue per process, looked up only with the GIL held (the GIL, unlike
// any lock of ours, is made sane by CPython in a forked child). A queue's
// state belongs to the process that made it: a child forked while a parent
// thread was mid-sync would wait forever for a group commit leader that is
// not there, and would share the parent's Redis connections. So a child
// makes its own, and the parent's copy is left alone.
JobQueue& queue_of_this_process() {
  static pid_t owner = 0;
  static JobQueue* queue = nullptr;
  if (owner != ::getpid()) {
    queue = open_queue(spool_dir()).release();  // deliberately never freed: see above
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

namespace {

// One (args, body, at_ms, priority) tuple, already checked by the Python
// half, into a JobSpec; false with a Python exception set.
bool to_spec(PyObject* tuple, JobSpec& spec) {
  PyObject *dict, *body_bytes, *at;
  int priority;
  if (!PyArg_ParseTuple(tuple, "O!SOi", &PyDict_Type, &dict, &body_bytes, &at, &priority)) return false;
  char* body;
  Py_ssize_t body_len;
  if (PyBytes_AsStringAndSize(body_bytes, &body, &body_len) < 0) return false;
  spec.body.assign(body, static_cast<std::size_t>(body_len));
  spec.priority = priority;
  if (!to_map(dict, spec.args)) return false;
  if (at != Py_None) {
    long long ms = PyLong_AsLongLong(at);
    if (ms == -1 && PyErr_Occurred()) return false;
    spec.at_ms = ms;
  }
  return true;
}

// Runs push with the GIL released; a failure becomes the Python exception.
template <class Push>
bool push_unlocked(Push push) {
  if (spool_dir().empty()) {
    PyErr_SetString(PyExc_RuntimeError, "suzerain.spool(): this vassal has no [spooler] dir to spool into");
    return false;
  }
  try {
    JobQueue& queue = queue_of_this_process();
    GilRelease unlocked;  // the push waits for a disk flush or Redis
    push(queue);
    return true;
  } catch (const std::system_error& e) {
    // OSError(errno, "push into /spool/queue: No space left on device"): e.errno works.
    Ref value(Py_BuildValue("(is)", e.code().value(), e.what()));
    if (value) PyErr_SetObject(PyExc_OSError, value.get());
  } catch (const std::invalid_argument& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return false;
}

PyObject* text(const std::string& s) { return PyUnicode_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size())); }

}  // namespace

PyObject* spool_job(PyObject*, PyObject* args) {
  JobSpec spec;
  if (!to_spec(args, spec)) return nullptr;
  std::string id;
  if (!push_unlocked([&](JobQueue& q) { id = q.push(spec); })) return nullptr;
  return text(id);
}

PyObject* spool_jobs(PyObject*, PyObject* specs) {
  Ref seq(PySequence_Fast(specs, "_spool_many() takes a list of job tuples"));
  if (!seq) return nullptr;
  std::vector<JobSpec> all(static_cast<std::size_t>(PySequence_Fast_GET_SIZE(seq.get())));
  for (std::size_t i = 0; i < all.size(); ++i)
    if (!to_spec(PySequence_Fast_GET_ITEM(seq.get(), static_cast<Py_ssize_t>(i)), all[i])) return nullptr;
  std::vector<std::string> ids;
  if (!all.empty() && !push_unlocked([&](JobQueue& q) { ids = q.push_all(all); })) return nullptr;
  Ref list(PyList_New(static_cast<Py_ssize_t>(ids.size())));
  if (!list) return nullptr;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    PyObject* id = text(ids[i]);
    if (!id) return nullptr;
    PyList_SET_ITEM(list.get(), static_cast<Py_ssize_t>(i), id);  // steals
  }
  return list.release();
}

}  // namespace suz::python
