#pragma once
// GIL and thread-state ownership as RAII. PyGILState_* is never used: it
// binds to the main interpreter and breaks with sub-interpreters. Instead
// every thread that calls into Python owns one ThreadState per interpreter,
// created once and reused, and takes the GIL with it explicitly.
#include <Python.h>

namespace suz::python {

// Holds the GIL with a given thread state for its lifetime. Never nest two
// Gil objects on one thread: the inner one would deadlock on the GIL.
class Gil {
 public:
  explicit Gil(PyThreadState* state) { PyEval_RestoreThread(state); }
  ~Gil() { PyEval_SaveThread(); }
  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;
};

// Releases the GIL held by this thread for a blocking call (socket I/O) and
// takes it back with the same thread state.
class GilRelease {
 public:
  GilRelease() : saved_(PyEval_SaveThread()) {}
  ~GilRelease() { PyEval_RestoreThread(saved_); }
  GilRelease(const GilRelease&) = delete;
  GilRelease& operator=(const GilRelease&) = delete;

 private:
  PyThreadState* saved_;
};

// A thread state of one interpreter for the calling OS thread. Created
// without the GIL (allowed by PyThreadState_New); destroyed with it.
class ThreadState {
 public:
  explicit ThreadState(PyInterpreterState* interp) : state_(PyThreadState_New(interp)) {}
  ~ThreadState() {
    if (!state_) return;
    PyEval_RestoreThread(state_);
    PyThreadState_Clear(state_);
    PyThreadState_DeleteCurrent();  // also releases the GIL
  }
  ThreadState(const ThreadState&) = delete;
  ThreadState& operator=(const ThreadState&) = delete;

  PyThreadState* get() const { return state_; }

 private:
  PyThreadState* state_;
};

// An owned reference; released only while the GIL is held (the owner's job).
class Ref {
 public:
  Ref() = default;
  explicit Ref(PyObject* owned) : p_(owned) {}  // steals a new reference
  static Ref borrow(PyObject* p) { Py_XINCREF(p); return Ref(p); }
  Ref(Ref&& o) noexcept : p_(o.release()) {}
  Ref& operator=(Ref&& o) noexcept {
    if (this != &o) { Py_XDECREF(p_); p_ = o.release(); }
    return *this;
  }
  Ref(const Ref&) = delete;
  Ref& operator=(const Ref&) = delete;
  ~Ref() { Py_XDECREF(p_); }

  PyObject* get() const { return p_; }
  PyObject* release() { PyObject* p = p_; p_ = nullptr; return p; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  PyObject* p_ = nullptr;
};

}  // namespace suz::python
