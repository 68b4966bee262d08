#include "plugins/python/module.hpp"

#include <spdlog/spdlog.h>

#include "plugins/python/errors.hpp"
#include "plugins/python/gil.hpp"
#include "plugins/python/spool_api.hpp"
#include "plugins/python/suzerain_py.hpp"  // generated from suzerain.py
#include "vassal/app.hpp"

namespace suz::python {
namespace {

PyObject* worker_id(PyObject*, PyObject*) { return PyLong_FromLong(process_facts().worker_id); }

PyObject* spooler_id(PyObject*, PyObject*) { return PyLong_FromLong(process_facts().spooler_id); }

PyObject* vassal_name(PyObject*, PyObject*) {
  return PyUnicode_FromString(process_facts().vassal_name.c_str());
}

PyObject* log(PyObject*, PyObject* args) {
  int level;
  const char* text;
  if (!PyArg_ParseTuple(args, "is", &level, &text)) return nullptr;
  auto spd = level >= 50 ? spdlog::level::critical
           : level >= 40 ? spdlog::level::err
           : level >= 30 ? spdlog::level::warn
           : level >= 20 ? spdlog::level::info
                         : spdlog::level::debug;
  spdlog::log(spd, "{}", text);
  Py_RETURN_NONE;
}

PyMethodDef kMethods[] = {
    {"worker_id", worker_id, METH_NOARGS, "The worker's number (1..workers); 0 outside workers."},
    {"spooler_id", spooler_id, METH_NOARGS, "The spooler process's number (1..processes); 0 outside spoolers."},
    {"vassal_name", vassal_name, METH_NOARGS, "The vassal's name."},
    {"_spool", spool_job, METH_VARARGS, "_spool(args, body, at_ms, priority): see spool()."},
    {"_spool_many", spool_jobs, METH_O, "_spool_many([(args, body, at_ms, priority), ...]): see spool_many()."},
    {"_log", log, METH_VARARGS, "_log(level, text): one line in the process log (logging levels)."},
    {nullptr, nullptr, 0, nullptr},
};

int exec_module(PyObject* module) { return exec_embedded_source(module, embedded::kModuleSource, "<suzerain>"); }

PyModuleDef_Slot kSlots[] = {
    {Py_mod_exec, reinterpret_cast<void*>(exec_module)},
    {0, nullptr},
};

PyModuleDef kModule = {
    PyModuleDef_HEAD_INIT, "suzerain", "Suzerain: the server this app runs in.", 0, kMethods, kSlots,
    nullptr, nullptr, nullptr,
};

PyObject* init_module() { return PyModuleDef_Init(&kModule); }

Ref import_suzerain() {
  Ref m(PyImport_ImportModule("suzerain"));
  if (!m) throw PythonError("cannot import the suzerain module");
  return m;
}

}  // namespace

int exec_embedded_source(PyObject* module, std::string_view source, const char* filename) {
  PyObject* dict = PyModule_GetDict(module);  // borrowed
  if (PyDict_SetItemString(dict, "__builtins__", PyEval_GetBuiltins()) < 0) return -1;
  Ref code(Py_CompileString(std::string(source).c_str(), filename, Py_file_input));
  if (!code) return -1;
  Ref result(PyEval_EvalCode(code.get(), dict, dict));
  return result ? 0 : -1;
}

ProcessFacts& process_facts() {
  static ProcessFacts facts;
  return facts;
}

void register_suzerain_module() { PyImport_AppendInittab("suzerain", init_module); }

void prepare_interpreter(const std::vector<std::string>& pythonpath) {
  Ref m = import_suzerain();
  Ref installed(PyObject_CallMethod(m.get(), "_install_stdio", nullptr));
  if (!installed) throw PythonError("cannot replace sys.stdout and sys.stderr");
  Ref paths(PyList_New(0));
  for (const std::string& p : pythonpath) {
    Ref item(PyUnicode_DecodeFSDefault(p.c_str()));
    if (!item || PyList_Append(paths.get(), item.get()) < 0) throw PythonError("bad pythonpath entry " + p);
  }
  PyObject* sys_path = PySys_GetObject("path");  // borrowed
  if (!sys_path || PySequence_SetSlice(sys_path, 0, 0, paths.get()) < 0)
    throw PythonError("cannot set sys.path");
}

void call_fork_helper(const char* name) {
  // Called from fork hooks: failures are reported, never thrown (the fork
  // must go on, and the child must not die of a diagnostic).
  Ref m(PyImport_ImportModule("suzerain"));
  Ref result(m ? PyObject_CallMethod(m.get(), name, nullptr) : nullptr);
  if (!result) {
    std::string trace = take_traceback();
    spdlog::error("suzerain.{} failed: {}", name, trace);
  }
}

bool has_hooks(const char* name) {
  Ref m(PyImport_ImportModule("suzerain"));
  Ref hooks(m ? PyObject_GetAttrString(m.get(), "_hooks") : nullptr);
  PyObject* list = hooks ? PyDict_GetItemString(hooks.get(), name) : nullptr;  // borrowed
  bool any = list && PyList_Check(list) && PyList_Size(list) > 0;
  PyErr_Clear();
  return any;
}

void run_hooks(const char* name, double bound_seconds, std::string_view detail) {
  Ref m(PyImport_ImportModule("suzerain"));
  Ref result;
  if (m && detail.empty()) {
    result = Ref(PyObject_CallMethod(m.get(), "_run_hooks", "sd", name, bound_seconds));
  } else if (m) {
    Ref text(PyUnicode_DecodeUTF8(detail.data(), static_cast<Py_ssize_t>(detail.size()), "replace"));
    if (text) result = Ref(PyObject_CallMethod(m.get(), "_run_hooks", "sdO", name, bound_seconds, text.get()));
  }
  if (!result) spdlog::error("@suzerain.{} hooks: {}", name, take_traceback());
}

void run_harakiri_hooks(const StuckRequest& stuck, double bound_seconds) {
  Ref m(PyImport_ImportModule("suzerain"));
  Ref request(PyUnicode_DecodeUTF8(stuck.request.data(), static_cast<Py_ssize_t>(stuck.request.size()), "replace"));
  Ref result(m && request ? PyObject_CallMethod(m.get(), "_run_harakiri", "dOdi", bound_seconds, request.get(),
                                                stuck.seconds, stuck.thread)
                          : nullptr);
  if (!result) spdlog::error("@suzerain.harakiri hooks: {}", take_traceback());
}

void run_postfork_hooks() {
  Ref m = import_suzerain();
  Ref hooks(PyObject_GetAttrString(m.get(), "_postfork"));
  if (!hooks) throw PythonError("suzerain._postfork is missing");
  Py_ssize_t n = PyList_Size(hooks.get());
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* fn = PyList_GetItem(hooks.get(), i);  // borrowed
    Ref result(PyObject_CallNoArgs(fn));
    if (!result) throw PythonError("a @suzerain.postfork function failed");
  }
}

}  // namespace suz::python
