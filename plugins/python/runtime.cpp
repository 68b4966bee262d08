#include "plugins/python/runtime.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/fork.hpp"
#include "plugins/python/asgi_module.hpp"
#include "plugins/python/errors.hpp"
#include "plugins/python/gil.hpp"
#include "plugins/python/module.hpp"
#include "vassal/app.hpp"

namespace suz::python {
namespace {

void check(PyStatus status, PyConfig& config, const std::string& what) {
  if (!PyStatus_Exception(status)) return;
  std::string message = "cannot start Python: " + what;
  if (status.func) message += std::string(" (") + status.func + ")";
  if (status.err_msg) message += std::string(": ") + status.err_msg;
  PyConfig_Clear(&config);
  throw AppLoadError(message);
}

constexpr double kMasterSwitchInterval = 0.0001;  // seconds

double switch_interval() {
  Ref sys(PyImport_ImportModule("sys"));
  Ref value(sys ? PyObject_CallMethod(sys.get(), "getswitchinterval", nullptr) : nullptr);
  double seconds = value ? PyFloat_AsDouble(value.get()) : -1;
  if (seconds <= 0) PyErr_Clear();
  return seconds;
}

void set_switch_interval(double seconds) {
  Ref sys(PyImport_ImportModule("sys"));
  Ref done(sys ? PyObject_CallMethod(sys.get(), "setswitchinterval", "d", seconds) : nullptr);
  if (!done) PyErr_Clear();
}

}  // namespace

const char* embedded_executable() { return SUZERAIN_PYTHON_EXECUTABLE; }

Runtime::Runtime(const RuntimeOptions& options) {
  if (!options.chdir.empty() && ::chdir(options.chdir.c_str()) != 0)
    throw AppLoadError("cannot chdir to " + options.chdir.string() + ": " + std::strerror(errno));

  // A virtualenv is found the way `venv/bin/python` finds it: CPython reads
  // pyvenv.cfg next to the program it believes it is.
  std::string program = embedded_executable();
  if (!options.virtualenv.empty()) {
    std::filesystem::path venv_python = options.virtualenv / "bin" / "python3";
    if (!std::filesystem::exists(options.virtualenv / "pyvenv.cfg"))
      throw AppLoadError("virtualenv " + options.virtualenv.string() + " has no pyvenv.cfg");
    program = venv_python.string();
  }

  register_suzerain_module();
  register_asgi_module();
  process_facts().vassal_name = options.vassal_name;

  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.parse_argv = 0;
  config.install_signal_handlers = 0;
  check(PyConfig_SetBytesString(&config, &config.program_name, program.c_str()), config, "program_name");
  char* argv[] = {const_cast<char*>(program.c_str())};
  check(PyConfig_SetBytesArgv(&config, 1, argv), config, "argv");
  check(Py_InitializeFromConfig(&config), config, "initialization");
  PyConfig_Clear(&config);
  main_ = PyThreadState_Get();
  // Short from the start, not only once the app is loaded: the app's import
  // may start such a thread, and the import itself then waits for the GIL.
  app_switch_interval_ = switch_interval();
  set_switch_interval(kMasterSwitchInterval);

  std::vector<std::string> paths;
  for (const auto& p : options.pythonpath) paths.push_back(p.string());
  try {
    prepare_interpreter(paths);
  } catch (const PythonError& e) {
    throw AppLoadError(e.what());
  }
}

void Runtime::release_gil() { main_ = PyEval_SaveThread(); }

void Runtime::favour_forking() {
  double now = switch_interval();
  if (now > 0 && now != kMasterSwitchInterval) app_switch_interval_ = now;  // the app chose one
  if (now > kMasterSwitchInterval) set_switch_interval(kMasterSwitchInterval);
}

void Runtime::register_fork_hooks(ForkHooks& hooks) {
  hooks.add(ForkHook{
      .owner = "python",
      .before =
          [this] {
            auto waiting = std::chrono::steady_clock::now();
            PyEval_RestoreThread(main_);
            auto waited = std::chrono::steady_clock::now() - waiting;
            if (waited > std::chrono::milliseconds(500))  // the logging hook has not locked the sinks yet
              spdlog::warn("before fork: waited {} ms for the GIL",
                           std::chrono::duration_cast<std::chrono::milliseconds>(waited).count());
            call_fork_helper("_before_forking");  // may wait (GIL released) for logging threads
            PyOS_BeforeFork();
          },
      .after_parent =
          [this] {
            PyOS_AfterFork_Parent();
            call_fork_helper("_after_forking_in_parent");
            main_ = PyEval_SaveThread();
          },
      .after_child =
          [this] {
            PyOS_AfterFork_Child();
            if (app_switch_interval_ > 0) set_switch_interval(app_switch_interval_);
            call_fork_helper("_after_forking_in_child");
          },
  });
}

}  // namespace suz::python
