#include "plugins/python/wsgi_app.hpp"

#include <spdlog/spdlog.h>

#include <strings.h>

#include <cctype>

#include "plugins/python/errors.hpp"
#include "plugins/python/import_callable.hpp"
#include "vassal/app.hpp"

namespace suz::python {
namespace {

Ref str(std::string_view s) {
  return Ref(PyUnicode_DecodeLatin1(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr));
}

void set(PyObject* dict, PyObject* key, PyObject* value) {
  if (value) PyDict_SetItem(dict, key, value);
}

void set(PyObject* dict, PyObject* key, std::string_view value) {
  Ref v = str(value);
  set(dict, key, v.get());
}

std::string request_line(const Exchange& ex) { return ex.request.method + " " + ex.request.target; }

}  // namespace

// Environ keys, interned once per app (and so per interpreter).
struct WsgiApp::Keys {
  Ref request_method{PyUnicode_InternFromString("REQUEST_METHOD")};
  Ref script_name{PyUnicode_InternFromString("SCRIPT_NAME")};
  Ref path_info{PyUnicode_InternFromString("PATH_INFO")};
  Ref query_string{PyUnicode_InternFromString("QUERY_STRING")};
  Ref request_uri{PyUnicode_InternFromString("REQUEST_URI")};
  Ref content_type{PyUnicode_InternFromString("CONTENT_TYPE")};
  Ref content_length{PyUnicode_InternFromString("CONTENT_LENGTH")};
  Ref server_name{PyUnicode_InternFromString("SERVER_NAME")};
  Ref server_port{PyUnicode_InternFromString("SERVER_PORT")};
  Ref server_protocol{PyUnicode_InternFromString("SERVER_PROTOCOL")};
  Ref remote_addr{PyUnicode_InternFromString("REMOTE_ADDR")};
  Ref remote_port{PyUnicode_InternFromString("REMOTE_PORT")};
  Ref wsgi_version{PyUnicode_InternFromString("wsgi.version")};
  Ref wsgi_url_scheme{PyUnicode_InternFromString("wsgi.url_scheme")};
  Ref https{PyUnicode_InternFromString("HTTPS")};
  Ref on{PyUnicode_InternFromString("on")};
  Ref wsgi_input{PyUnicode_InternFromString("wsgi.input")};
  Ref wsgi_errors{PyUnicode_InternFromString("wsgi.errors")};
  Ref wsgi_multithread{PyUnicode_InternFromString("wsgi.multithread")};
  Ref wsgi_multiprocess{PyUnicode_InternFromString("wsgi.multiprocess")};
  Ref wsgi_run_once{PyUnicode_InternFromString("wsgi.run_once")};
  Ref wsgi_file_wrapper{PyUnicode_InternFromString("wsgi.file_wrapper")};
  Ref wsgi_input_terminated{PyUnicode_InternFromString("wsgi.input_terminated")};
  Ref version{Py_BuildValue("(ii)", 1, 0)};
  Ref empty{PyUnicode_InternFromString("")};
};

WsgiApp::WsgiApp(const std::string& spec, ServerFacts facts)
    : spec_(spec), facts_(facts), interp_(PyThreadState_Get()->interp), keys_(std::make_shared<Keys>()) {
  callable_ = import_callable(spec, "the WSGI app");

  Ref suzerain(PyImport_ImportModule("suzerain"));
  if (!suzerain) throw PythonError("cannot import suzerain");
  // An ASGI app called as WSGI would answer every request with a coroutine
  // (a 500 each): refused at load, with what to do instead.
  Ref shape(PyObject_CallMethod(suzerain.get(), "_asgi_shape", "O", callable_.get()));
  if (!shape) throw PythonError("cannot inspect " + spec);
  if (PyUnicode_Check(shape.get()) && PyUnicode_GetLength(shape.get()) > 0) {
    PyErr_Format(PyExc_TypeError, "%s is an ASGI application (%U), not a WSGI one", spec.c_str(), shape.get());
    throw PythonError("the WSGI app " + spec + " is an ASGI application: serve it with [app] interface = \"asgi\"");
  }
  file_wrapper_type_ = Ref(PyObject_GetAttrString(suzerain.get(), "FileWrapper"));
  error_stream_ = Ref(PyObject_CallMethod(suzerain.get(), "ErrorStream", nullptr));
  if (!file_wrapper_type_ || !error_stream_) throw PythonError("cannot set up wsgi.errors and wsgi.file_wrapper");
  types_ = WsgiTypes::create();
}

Ref WsgiApp::environ(Exchange& ex) {
  const Keys& k = *keys_;
  const Request& r = ex.request;
  Ref env(PyDict_New());
  PyObject* e = env.get();

  // uwsgi: the front end already computed the CGI variables; take them as sent.
  for (const auto& [name, value] : r.cgi_vars) {
    Ref key = str(name);
    set(e, key.get(), value);
  }
  if (r.cgi_vars.empty()) {
    set(e, k.request_method.get(), r.method);
    set(e, k.query_string.get(), r.query);
    set(e, k.request_uri.get(), r.target);
    set(e, k.server_protocol.get(), r.protocol);
    set(e, k.server_name.get(), r.server_name);
    set(e, k.server_port.get(), r.server_port);
    set(e, k.remote_addr.get(), r.remote_addr);
    set(e, k.remote_port.get(), r.remote_port);
    if (r.url_scheme == "https") set(e, k.https.get(), k.on.get());
    if (r.content_length) set(e, k.content_length.get(), std::to_string(*r.content_length));
    std::string name;
    for (const auto& [header, value] : r.headers) {
      // Names with "_" are dropped: "X_Forwarded_For" must not pose as
      // "X-Forwarded-For" once both become HTTP_X_FORWARDED_FOR (as nginx does).
      if (header.find('_') != std::string::npos) continue;
      PyObject* key;
      Ref owned;
      if (strcasecmp(header.c_str(), "Content-Type") == 0) {
        key = k.content_type.get();
      } else if (strcasecmp(header.c_str(), "Content-Length") == 0) {
        continue;  // from the parser's framing, already set
      } else {
        name = "HTTP_";
        for (char c : header) name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        owned = str(name);
        key = owned.get();
      }
      PyObject* existing = PyDict_GetItem(e, key);  // borrowed
      if (existing) {  // repeated header: one value, comma-joined (cookies: "; ")
        Ref joined(PyUnicode_FromFormat("%U%s", existing, name == "HTTP_COOKIE" ? "; " : ", "));
        Ref v = str(value);
        Ref all(PyUnicode_Concat(joined.get(), v.get()));
        set(e, key, all.get());
      } else {
        set(e, key, value);
      }
    }
  }
  set(e, k.script_name.get(), ex.script_name);
  set(e, k.path_info.get(), ex.path_info);
  if (!PyDict_GetItem(e, k.query_string.get())) set(e, k.query_string.get(), k.empty.get());
  set(e, k.wsgi_version.get(), k.version.get());
  set(e, k.wsgi_url_scheme.get(), r.url_scheme);
  set(e, k.wsgi_errors.get(), error_stream_.get());
  set(e, k.wsgi_multithread.get(), facts_.multithread ? Py_True : Py_False);
  set(e, k.wsgi_multiprocess.get(), facts_.multiprocess ? Py_True : Py_False);
  set(e, k.wsgi_run_once.get(), Py_False);
  set(e, k.wsgi_file_wrapper.get(), file_wrapper_type_.get());
  set(e, k.wsgi_input_terminated.get(), Py_True);
  return env;
}

void WsgiApp::fail(Exchange& ex, const std::string& what) {
  std::string trace = take_traceback();
  if (ex.response.client_gone()) {
    spdlog::info("{}: client went away ({})", request_line(ex), what);
  } else {
    spdlog::error("{}: {}{}{}", request_line(ex), what, trace.empty() ? "" : "\n", trace);
  }
  if (ex.response.client_gone()) return;
  if (ex.response.started()) {
    ex.response.abort();
    return;
  }
  static constexpr std::string_view kBody = "Internal Server Error\n";
  GilRelease unlocked;
  try {
    ex.response.start("500 Internal Server Error",
                      {{"Content-Type", "text/plain"}, {"Content-Length", std::to_string(kBody.size())}});
    ex.response.write(kBody);
  } catch (const std::exception&) {
    // the client is gone too; nothing more to say
  }
}

bool WsgiApp::send_file(PyObject* wrapper, Exchange& ex) {
  Ref filelike(PyObject_GetAttrString(wrapper, "filelike"));
  Ref fileno(filelike ? PyObject_CallMethod(filelike.get(), "fileno", nullptr) : nullptr);
  Ref tell(fileno ? PyObject_CallMethod(filelike.get(), "tell", nullptr) : nullptr);
  if (!fileno || !tell) {  // not a real file: iterate it like any other iterable
    PyErr_Clear();
    return false;
  }
  int fd = static_cast<int>(PyLong_AsLong(fileno.get()));
  off_t offset = static_cast<off_t>(PyLong_AsLongLong(tell.get()));
  if (PyErr_Occurred()) {
    PyErr_Clear();
    return false;
  }
  GilRelease unlocked;
  for (;;) {
    std::size_t sent = ex.response.send_file(fd, offset, 1 << 20);
    if (sent == 0) break;
    offset += static_cast<off_t>(sent);
  }
  return true;
}

void WsgiApp::call(Exchange& ex) {
  Ref env = environ(ex);
  Ref input = new_input(types_, ex.body);
  Ref start_response = new_start_response(types_, ex.response);
  if (!env || !input || !start_response) return fail(ex, "cannot build the WSGI environ");
  PyDict_SetItem(env.get(), keys_->wsgi_input.get(), input.get());
  // Apps may keep references past the request; detached objects then raise
  // instead of touching this request's connection.
  struct Detach {
    PyObject* input;
    PyObject* start_response;
    ~Detach() {
      detach_input(input);
      detach_start_response(start_response);
    }
  } detach{input.get(), start_response.get()};

  Ref result(PyObject_CallFunctionObjArgs(callable_.get(), env.get(), start_response.get(), nullptr));
  if (!result) return fail(ex, "the app raised");

  std::string error;
  bool ok = true;
  auto write = [&](PyObject* chunk, bool last = false) {
    if (!PyBytes_Check(chunk)) {
      PyErr_Format(PyExc_TypeError, "the response iterable yielded %.100s, not bytes", Py_TYPE(chunk)->tp_name);
      return false;
    }
    Py_ssize_t n = PyBytes_GET_SIZE(chunk);
    if (n == 0) return true;  // headers wait for the first non-empty chunk
    if (!start_response_called(start_response.get())) {
      PyErr_SetString(PyExc_AssertionError, "the app yielded body data before calling start_response");
      return false;
    }
    GilRelease unlocked;  // bytes are immutable and we hold a reference
    try {
      ex.response.write(std::string_view(PyBytes_AS_STRING(chunk), static_cast<std::size_t>(n)), last);
    } catch (const std::exception& e) {
      error = e.what();
      return false;
    }
    return true;
  };

  bool sent_as_file = Py_TYPE(result.get()) == reinterpret_cast<PyTypeObject*>(file_wrapper_type_.get()) &&
                      start_response_called(start_response.get()) && send_file(result.get(), ex);
  if (sent_as_file) {
    // done
  } else if (PyList_CheckExact(result.get()) || PyTuple_CheckExact(result.get())) {
    PyObject* seq = result.get();
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; ok && i < n; ++i) ok = write(PySequence_Fast_GET_ITEM(seq, i), i == n - 1);
  } else {
    Ref it(PyObject_GetIter(result.get()));
    ok = static_cast<bool>(it);
    while (ok) {
      Ref chunk(PyIter_Next(it.get()));
      if (!chunk) {
        ok = !PyErr_Occurred();
        break;
      }
      ok = write(chunk.get());
    }
  }

  // close() is always called, whatever happened (PEP 3333).
  std::string close_trace;
  if (PyObject_HasAttrString(result.get(), "close")) {
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);  // keep the iteration's exception for fail()
    Ref closed(PyObject_CallMethod(result.get(), "close", nullptr));
    if (!closed) close_trace = take_traceback();
    PyErr_Restore(t, v, tb);
  }
  if (!ok) {
    if (!error.empty()) PyErr_SetString(PyExc_OSError, error.c_str());
    fail(ex, "the response iterable failed");
  } else if (!start_response_called(start_response.get())) {
    fail(ex, "the app returned without calling start_response");
  }
  if (!close_trace.empty()) spdlog::error("{}: close() of the response raised\n{}", request_line(ex), close_trace);
}

}  // namespace suz::python
