#pragma once
// The `suzerain` module apps import: worker_id(), spooler_id(),
// vassal_name(), the @postfork decorator, spool() and the Job and Retry
// classes a job handler sees, and the classes behind wsgi.errors and
// wsgi.file_wrapper. Multi-phase init, so every interpreter gets its own
// module (and its own postfork list).
#include <Python.h>

#include <string>
#include <string_view>
#include <vector>

namespace suz {
struct StuckRequest;  // vassal/app.hpp
}

namespace suz::python {

// Process-wide facts the module reports; set by the plugin.
struct ProcessFacts {
  int worker_id = 0;   // 0 in the master and spoolers
  int spooler_id = 0;  // 0 in the master and workers
  std::string vassal_name;
};
ProcessFacts& process_facts();

// Registers the module in the inittab; call before Py_InitializeFromConfig.
void register_suzerain_module();

// A built-in module's Py_mod_exec: runs source (a file built into the
// vassal) in the module's namespace. 0, or -1 with a Python exception.
int exec_embedded_source(PyObject* module, std::string_view source, const char* filename);

// In the current interpreter: replaces sys.stdout and sys.stderr with writers
// that hold no lock (so a fork can never inherit one held), and prepends
// paths to sys.path. Requires the GIL; throws PythonError.
void prepare_interpreter(const std::vector<std::string>& pythonpath);

// Runs suzerain.<name>() (_before_forking, _after_forking_in_parent, _after_forking_in_child)
// in the current interpreter; GIL held. Failures are logged, not thrown.
void call_fork_helper(const char* name);

// Calls every function registered with @suzerain.postfork in the current
// interpreter, in registration order. Throws PythonError on the first failure.
void run_postfork_hooks();

// Whether the current interpreter's apps registered a function for the
// hook. GIL held.
bool has_hooks(const char* name);

// Runs suzerain._run_hooks(name, bound_seconds[, detail]): each function
// registered for the hook, on a thread of its own, waited for at most
// bound_seconds. GIL held. Failures are logged, never thrown.
void run_hooks(const char* name, double bound_seconds, std::string_view detail);
// suzerain._run_harakiri(bound_seconds, request, seconds, thread).
void run_harakiri_hooks(const StuckRequest& stuck, double bound_seconds);

}  // namespace suz::python
