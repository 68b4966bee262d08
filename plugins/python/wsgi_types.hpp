#pragma once
// The Python objects a WSGI request is made of, created per interpreter
// (heap types, so each sub-interpreter has its own). Require the GIL.
#include <Python.h>

#include <string>

#include "plugins/python/gil.hpp"

namespace suz {
class BodyReader;
class ResponseWriter;
}  // namespace suz

namespace suz::python {

// Heap types of one interpreter.
struct WsgiTypes {
  Ref input_type;           // wsgi.input
  Ref start_response_type;  // start_response (its .write is the write() callable)
  static WsgiTypes create();  // throws PythonError
};

// wsgi.input over a body reader. detach_input() is called when the request
// ends: later reads raise ValueError instead of touching a dead reader.
Ref new_input(const WsgiTypes& types, BodyReader& body);
void detach_input(PyObject* input);

// start_response bound to a response writer; detach_start_response() likewise.
Ref new_start_response(const WsgiTypes& types, ResponseWriter& writer);
void detach_start_response(PyObject* start_response);
// True once the app called start_response (successfully).
bool start_response_called(PyObject* start_response);

}  // namespace suz::python
