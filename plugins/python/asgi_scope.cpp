#include "plugins/python/asgi_scope.hpp"

#include <charconv>
#include <string>

namespace suz::python {
namespace {

// Interned once: the ASGI loop runs in the main interpreter only.
struct Keys {
  PyObject* type = PyUnicode_InternFromString("type");
  PyObject* http = PyUnicode_InternFromString("http");
  PyObject* asgi = PyUnicode_InternFromString("asgi");
  PyObject* http_version = PyUnicode_InternFromString("http_version");
  PyObject* method = PyUnicode_InternFromString("method");
  PyObject* scheme = PyUnicode_InternFromString("scheme");
  PyObject* path = PyUnicode_InternFromString("path");
  PyObject* raw_path = PyUnicode_InternFromString("raw_path");
  PyObject* query_string = PyUnicode_InternFromString("query_string");
  PyObject* root_path = PyUnicode_InternFromString("root_path");
  PyObject* headers = PyUnicode_InternFromString("headers");
  PyObject* client = PyUnicode_InternFromString("client");
  PyObject* server = PyUnicode_InternFromString("server");
  PyObject* state = PyUnicode_InternFromString("state");
  PyObject* v10 = PyUnicode_InternFromString("1.0");
  PyObject* v11 = PyUnicode_InternFromString("1.1");
  PyObject* version = PyUnicode_InternFromString("version");
  PyObject* spec_version = PyUnicode_InternFromString("spec_version");
  PyObject* v3 = PyUnicode_InternFromString("3.0");
  PyObject* v23 = PyUnicode_InternFromString("2.3");
};

const Keys& keys() {
  static const Keys* k = new Keys;  // never freed: workers leave by _exit
  return *k;
}

Ref latin1(const std::string& s) {
  return Ref(PyUnicode_DecodeLatin1(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr));
}

Ref bytes(std::string_view s) { return Ref(PyBytes_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size()))); }

// (host, port), or None without a port (a Unix socket).
Ref address(const std::string& host, const std::string& port) {
  int n = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size()) return Ref::borrow(Py_None);
  return Ref(Py_BuildValue("(Ni)", latin1(host).release(), n));
}

bool put(PyObject* dict, PyObject* key, Ref value) { return value && PyDict_SetItem(dict, key, value.get()) == 0; }

bool put(PyObject* dict, PyObject* key, PyObject* borrowed) { return PyDict_SetItem(dict, key, borrowed) == 0; }

Ref header_list(const Request& r) {
  Ref list(PyList_New(static_cast<Py_ssize_t>(r.headers.size())));
  if (!list) return list;
  std::string lower;
  for (std::size_t i = 0; i < r.headers.size(); ++i) {
    const auto& [name, value] = r.headers[i];
    lower.assign(name);
    for (char& c : lower)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    PyObject* pair = Py_BuildValue("(NN)", bytes(lower).release(), bytes(value).release());
    if (!pair) return Ref();
    PyList_SET_ITEM(list.get(), static_cast<Py_ssize_t>(i), pair);
  }
  return list;
}

}  // namespace

Ref http_scope(const AsyncExchange& x, PyObject* state) {
  const Keys& k = keys();
  const Request& r = x.request();
  Ref scope(PyDict_New());
  Ref asgi(PyDict_New());
  if (!scope || !asgi || PyDict_SetItem(asgi.get(), k.version, k.v3) < 0 ||
      PyDict_SetItem(asgi.get(), k.spec_version, k.v23) < 0)
    return Ref();
  PyObject* d = scope.get();
  std::string_view target = r.target;
  std::string_view raw_path = target.substr(0, target.find('?'));
  bool ok = put(d, k.type, k.http) && put(d, k.asgi, std::move(asgi)) &&
            put(d, k.http_version, r.http_minor == 0 ? k.v10 : k.v11) && put(d, k.method, latin1(r.method)) &&
            put(d, k.scheme, latin1(r.url_scheme)) &&
            // Decoded as uvicorn does (UTF-8, undecodable bytes replaced);
            // the prefix of a mount is in root_path, not in path, as
            // Starlette's Mount expects.
            put(d, k.path,
                Ref(PyUnicode_DecodeUTF8(x.path_info().data(), static_cast<Py_ssize_t>(x.path_info().size()),
                                         "replace"))) &&
            put(d, k.raw_path, bytes(raw_path)) && put(d, k.query_string, bytes(r.query)) &&
            put(d, k.root_path, latin1(x.script_name())) && put(d, k.headers, header_list(r)) &&
            put(d, k.client, address(r.remote_addr, r.remote_port)) &&
            put(d, k.server, address(r.server_name, r.server_port));
  if (ok && state) ok = put(d, k.state, Ref(PyDict_Copy(state)));
  if (!ok) return Ref();
  return scope;
}

}  // namespace suz::python
