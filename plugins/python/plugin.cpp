#include "plugins/python/plugin.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "core/fork.hpp"
#include "core/signals.hpp"
#include "plugins/python/asgi_module.hpp"
#include "plugins/python/errors.hpp"
#include "plugins/python/import_callable.hpp"
#include "plugins/python/gil.hpp"
#include "plugins/python/job_handler.hpp"
#include "plugins/python/module.hpp"
#include "plugins/python/runtime.hpp"
#include "plugins/python/spool_api.hpp"
#include "plugins/python/wsgi_app.hpp"

namespace suz::python {

struct AppEntry {
  std::string prefix;  // "" for the root
  std::string spec;
  InterpreterMode mode;
  std::size_t interp = 0;  // index into State::interpreters
  std::unique_ptr<WsgiApp> app;
  Ref asgi;  // the ASGI callable ([app] interface = "asgi"), loaded in the master
};

namespace {

// kStackDumpSignal (USR2) dumps every Python thread's stack to stderr: the master sends it
// before killing a child for harakiri, so the log says where it was stuck.
// (Called, not run as source: compiling even two lines costs every new
// worker a millisecond before it serves.) GIL held; throws PythonError.
void install_stack_dump_handler() {
  Ref faulthandler(PyImport_ImportModule("faulthandler"));
  Ref register_fn(faulthandler ? PyObject_GetAttrString(faulthandler.get(), "register") : nullptr);
  Ref args(Py_BuildValue("(i)", kStackDumpSignal));
  Ref kwargs(Py_BuildValue("{s:O,s:O}", "all_threads", Py_True, "chain", Py_False));
  Ref dumped(register_fn && args && kwargs ? PyObject_Call(register_fn.get(), args.get(), kwargs.get()) : nullptr);
  if (!dumped) throw PythonError("cannot install the stack dump handler");
}

}  // namespace

// By Hook's values.
constexpr const char* kHookNames[] = {"worker_exit", "master_ready", "master_exit", "harakiri"};

struct PythonPlugin::State {
  const VassalConfig& config;
  std::vector<AppEntry> apps;
  std::unique_ptr<JobHandler> job_handler;  // main interpreter; when the vassal runs spoolers
  std::unique_ptr<Runtime> runtime;
  ServerFacts facts;
  std::vector<PyInterpreterState*> interpreters;  // [0]: main
  // thread_states[thread][interpreter], created by each thread for itself.
  std::vector<std::vector<std::unique_ptr<ThreadState>>> thread_states;
  // Which hooks the apps registered at import, read once in the master: a
  // process with none never takes the GIL for them (a worker stopping while
  // its threads spin would wait for it).
  std::array<bool, std::size(kHookNames)> hooked{};
};

PythonPlugin::PythonPlugin(const VassalConfig& config)
    : s_(std::make_unique<State>(State{config, {}, {}, {}, {}, {}, {}, {}})) {
  if (!config.spooler.dir.empty()) set_spool_dir(config.spooler.dir);
  if (!config.app.module.empty()) s_->apps.push_back({"", config.app.module, config.app.interpreter});
  for (const MountConfig& m : config.mounts)
    s_->apps.push_back({m.path == "/" ? "" : m.path, m.module, m.interpreter});
  s_->facts.multithread = config.server.threads > 1;
  s_->facts.multiprocess = config.server.workers > 1;
}

PythonPlugin::~PythonPlugin() {
  // Only the master gets here (workers leave by _exit). Python references are
  // dropped with the GIL; the interpreter is not finalized, because
  // Py_FinalizeEx waits for every non-daemon thread the app started.
  if (!s_->runtime) return;
  Gil gil(s_->runtime->main_thread_state());
  for (AppEntry& e : s_->apps) e.app.reset();
  s_->job_handler.reset();
}

void PythonPlugin::load_in_master() {
  const VassalConfig& c = s_->config;
  RuntimeOptions options{c.vassal.name, c.app.chdir, c.app.pythonpath, c.app.virtualenv};
  s_->runtime = std::make_unique<Runtime>(options);  // holds the GIL from here
  // ...until this leaves, whichever way it leaves.
  struct ReleaseGil {
    Runtime& runtime;
    ~ReleaseGil() { runtime.release_gil(); }
  } release{*s_->runtime};
  s_->interpreters.push_back(PyThreadState_Get()->interp);
  try {
    if (c.app.interface == AppInterface::kAsgi) {
      load_asgi_apps();
    } else {
      for (AppEntry& e : s_->apps) {
        if (e.mode != InterpreterMode::kMain) continue;
        e.app = std::make_unique<WsgiApp>(e.spec, s_->facts);
        spdlog::info("loaded {} (main interpreter){}", e.spec, e.prefix.empty() ? "" : " at " + e.prefix);
      }
    }
    if (c.spooler.processes > 0 && !c.spooler.handler.empty()) {
      s_->job_handler = std::make_unique<JobHandler>(c.spooler.handler);
      spdlog::info("loaded job handler {}", c.spooler.handler);
    }
  } catch (const PythonError& err) {
    throw AppLoadError(err.what());
  }
  for (std::size_t i = 0; i < s_->hooked.size(); ++i) s_->hooked[i] = has_hooks(kHookNames[i]);
  // What every worker imports right after the fork (the stack dump handler,
  // the after-fork hook's importlib) is imported once here instead: each
  // replacement serves sooner (a dozen modules, ~15 ms less) and shares them.
  for (const char* name : {"faulthandler", "importlib._bootstrap", "_thread"}) {
    Ref m(PyImport_ImportModule(name));
    if (!m) PyErr_Clear();
  }
  // Objects that exist now are shared with every worker: keep the cyclic
  // collector from writing to their pages (and copying them) in each worker.
  Ref gc(PyImport_ImportModule("gc"));
  Ref frozen(gc ? PyObject_CallMethod(gc.get(), "freeze", nullptr) : nullptr);
  if (!frozen) PyErr_Clear();
  s_->runtime->favour_forking();
}

void PythonPlugin::load_asgi_apps() {
  if (s_->config.app.loop == EventLoopKind::kUvloop) {
    Ref uvloop(PyImport_ImportModule("uvloop"));
    if (!uvloop)
      throw PythonError("[app] loop = \"uvloop\": cannot import uvloop (Debian: python3-uvloop), or use loop = \"asyncio\"");
  }
  for (AppEntry& e : s_->apps) {
    e.asgi = import_callable(e.spec, "the ASGI app");
    if (std::string why = asgi_refusal(e.asgi.get()); !why.empty()) {
      PyErr_Format(PyExc_TypeError, "%s is not an ASGI application: %s", e.spec.c_str(), why.c_str());
      throw PythonError("the ASGI app " + e.spec + " is not an ASGI application (" + why +
                        "): serve a WSGI app with [app] interface = \"wsgi\"");
    }
    spdlog::info("loaded {} (ASGI){}", e.spec, e.prefix.empty() ? "" : " at " + e.prefix);
  }
}

void PythonPlugin::run_event_loop(LoopHost& host, int threads) {
  static constexpr const char* kLoops[] = {"auto", "asyncio", "uvloop"};  // by EventLoopKind
  static constexpr const char* kLifespans[] = {"auto", "on", "off"};      // by LifespanMode
  const AppConfig& app = s_->config.app;
  ThreadState state(s_->interpreters[0]);
  Gil gil(state.get());
  Ref apps(PyList_New(0));
  for (AppEntry& e : s_->apps) {
    Ref pair(Py_BuildValue("(Os)", e.asgi.get(), e.spec.c_str()));
    if (!apps || !pair || PyList_Append(apps.get(), pair.get()) < 0) {
      spdlog::critical("cannot start the event loop: {}", take_traceback());
      return;
    }
  }
  run_asgi_loop(host, apps.get(), kLoops[static_cast<int>(app.loop)], kLifespans[static_cast<int>(app.lifespan)],
                threads);
}

void PythonPlugin::register_fork_hooks(ForkHooks& hooks) { s_->runtime->register_fork_hooks(hooks); }

void PythonPlugin::start_worker(int worker_id, int threads) {
  // Entered holding the GIL with the main thread state (the fork hooks leave it so).
  process_facts().worker_id = worker_id;
  try {
    install_stack_dump_handler();
    run_postfork_hooks();  // for the apps loaded in the master
    std::vector<std::string> paths;
    for (const auto& p : s_->config.app.pythonpath) paths.push_back(p.string());
    // Each sub-interpreter is left current once its app is loaded: no swap
    // back to the main interpreter. On CPython 3.12 a swap gives up the GIL
    // and takes it again, and a thread the app just started that runs pure
    // Python can take it meanwhile and never give it back: 3.12 sends the
    // waiter's drop request to the waiter's interpreter, not the holder's
    // (seen here: a worker hung in take_gil after loading an app whose
    // import starts a busy thread). Loading several isolated apps still
    // swaps between them; that 3.12 limit is in docs/config.md.
    for (AppEntry& e : s_->apps) {
      if (e.mode != InterpreterMode::kIsolated) continue;
      PyThreadState* sub = Py_NewInterpreter();
      if (!sub) throw AppLoadError("cannot create a sub-interpreter for " + e.spec);
      prepare_interpreter(paths);
      e.app = std::make_unique<WsgiApp>(e.spec, s_->facts);
      run_postfork_hooks();
      e.interp = s_->interpreters.size();
      s_->interpreters.push_back(sub->interp);
      spdlog::info("loaded {} (own sub-interpreter){}", e.spec, e.prefix.empty() ? "" : " at " + e.prefix);
    }
  } catch (const PythonError& err) {
    PyEval_SaveThread();
    throw AppLoadError(err.what());
  } catch (...) {
    PyEval_SaveThread();
    throw;
  }
  s_->thread_states.resize(static_cast<std::size_t>(threads));
  // Whichever interpreter is current: the worker's threads take the GIL with
  // their own thread states from now on.
  PyEval_SaveThread();
}

void PythonPlugin::start_spooler(int spooler_id) {
  // Entered holding the GIL with the main thread state (the fork hooks leave
  // it so). Jobs run on this same thread, with this same state.
  process_facts().spooler_id = spooler_id;
  try {
    install_stack_dump_handler();
    run_postfork_hooks();
  } catch (const PythonError& err) {
    s_->runtime->release_gil();
    throw AppLoadError(err.what());
  }
  s_->runtime->release_gil();  // app threads run between jobs
}

JobOutcome PythonPlugin::run_job(const Job& job) {
  Gil gil(s_->runtime->main_thread_state());
  return s_->job_handler->run(job);
}

void PythonPlugin::attach_thread(int thread_index) {
  auto& states = s_->thread_states[static_cast<std::size_t>(thread_index)];
  for (PyInterpreterState* interp : s_->interpreters) states.push_back(std::make_unique<ThreadState>(interp));
}

void PythonPlugin::handle(int thread_index, Exchange& exchange) {
  AppEntry& e = s_->apps[exchange.app_index];
  PyThreadState* ts = s_->thread_states[static_cast<std::size_t>(thread_index)][e.interp]->get();
  Gil gil(ts);
  e.app->call(exchange);
}

void PythonPlugin::run_hook(Hook hook, std::string_view detail) {
  auto i = static_cast<std::size_t>(hook);
  if (!s_->runtime || !s_->hooked[i]) return;
  // The main interpreter's hooks: the apps imported in the master (an
  // isolated app's suzerain module is its own, and is not asked).
  Gil gil(s_->runtime->main_thread_state());
  run_hooks(kHookNames[i], to_seconds(kHookBound), detail);
}

bool PythonPlugin::hooked(Hook hook) const { return s_->runtime && s_->hooked[static_cast<std::size_t>(hook)]; }

void PythonPlugin::run_harakiri_hook(const StuckRequest& stuck) {
  if (!hooked(Hook::kHarakiri)) return;
  // A thread state of this thread's own: the stuck thread may be running
  // with the main one (a worker with one thread runs the app on it).
  ThreadState mine(PyInterpreterState_Main());
  Gil gil(mine.get());
  run_harakiri_hooks(stuck, kHarakiriHookBound);
}

std::vector<MountPoint> PythonPlugin::mounts() const {
  std::vector<MountPoint> out;
  for (std::size_t i = 0; i < s_->apps.size(); ++i) out.push_back({s_->apps[i].prefix, i});
  std::sort(out.begin(), out.end(), [](const MountPoint& a, const MountPoint& b) { return a.prefix.size() > b.prefix.size(); });
  return out;
}

}  // namespace suz::python
