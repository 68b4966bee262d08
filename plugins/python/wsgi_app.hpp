#pragma once
// One WSGI app: its callable in its interpreter, and the PEP 3333 call
// around it (environ, start_response, the response iterable, close()).
#include <Python.h>

#include <memory>
#include <string>

#include "plugins/python/gil.hpp"
#include "plugins/python/wsgi_types.hpp"

namespace suz {
struct Exchange;
}

namespace suz::python {

struct ServerFacts {
  bool multithread = false;
  bool multiprocess = false;
};

class WsgiApp {
 public:
  // Imports "module:callable" in the current interpreter; GIL held.
  // Throws PythonError with the traceback.
  WsgiApp(const std::string& spec, ServerFacts facts);
  WsgiApp(const WsgiApp&) = delete;
  WsgiApp& operator=(const WsgiApp&) = delete;

  const std::string& spec() const { return spec_; }
  PyInterpreterState* interpreter() const { return interp_; }

  // Runs one request. The calling thread holds the GIL with a thread state of
  // this app's interpreter. App failures become a 500 (or an aborted
  // response once headers are out) and a logged traceback; nothing throws.
  void call(Exchange& exchange);

 private:
  struct Keys;
  Ref environ(Exchange& exchange);
  bool send_file(PyObject* wrapper, Exchange& exchange);
  void fail(Exchange& exchange, const std::string& what);

  std::string spec_;
  ServerFacts facts_;
  PyInterpreterState* interp_;
  Ref callable_;
  Ref file_wrapper_type_;
  Ref error_stream_;
  WsgiTypes types_;
  std::shared_ptr<Keys> keys_;
};

}  // namespace suz::python
