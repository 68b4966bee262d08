#pragma once
// The embedded CPython of one vassal master, started once.
//
// Environment: the interpreter honours PYTHON* variables (PYTHONPATH,
// PYTHONDEVMODE, PYTHONFAULTHANDLER, ...) exactly as the `python3` command
// does, because users of gunicorn (a Python program) rely on them. It does
// not parse a command line and installs no signal handlers: the vassal's
// event loop owns every signal.
#include <Python.h>

#include <filesystem>
#include <string>
#include <vector>

namespace suz {
class ForkHooks;
}

namespace suz::python {

struct RuntimeOptions {
  std::string vassal_name;
  std::filesystem::path chdir;
  std::vector<std::filesystem::path> pythonpath;
  std::filesystem::path virtualenv;  // empty: none
};

class Runtime {
 public:
  // Starts the interpreter; the calling (main) thread holds the GIL after.
  // Throws AppLoadError when the interpreter cannot start.
  explicit Runtime(const RuntimeOptions& options);
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // The main thread's state in the main interpreter: the only one that forks.
  PyThreadState* main_thread_state() const { return main_; }

  // After loading: the main thread gives up the GIL so Python threads the app
  // started keep running while the C++ loop waits.
  void release_gil();

  // The master runs with a short switch interval, set when the interpreter
  // starts (so the app's own import is not starved either) and again after
  // the app is loaded (GIL held), in case the app chose its own: CPython asks
  // the holder to drop the GIL only after a whole interval without any
  // switch, and an app thread that releases and retakes it around I/O (a
  // thread printing every millisecond) never gives the default 5 ms one a
  // chance: forks, and on 3.13 the import itself, waited seconds. The master
  // runs no requests, so the shorter interval costs nothing there; each child
  // gets the app's back.
  void favour_forking();

  // The sequence os.fork follows, around every fork of the master, plus
  // what CPython leaves undone (suzerain._before_forking and friends):
  //   before:       take the GIL with the main thread state; hold logging's
  //                 handler locks; PyOS_BeforeFork()
  //   after_parent: PyOS_AfterFork_Parent(); release them; release the GIL
  //   after_child:  PyOS_AfterFork_Child() (fresh GIL owned by this thread,
  //                 dead threads' states dropped, import lock reset,
  //                 os.register_at_fork child handlers run); forget import
  //                 locks owned by threads that do not exist in the child
  // The child leaves the hooks holding the GIL with the main thread state;
  // its entry point releases it once the process is set up.
  void register_fork_hooks(ForkHooks& hooks);

 private:
  PyThreadState* main_ = nullptr;
  double app_switch_interval_ = 0;  // seconds; 0: never changed
};

// The interpreter this build embeds ("/usr/bin/python3.11"): sys.executable.
const char* embedded_executable();

}  // namespace suz::python
