#pragma once
// The interface between a vassal and the language plugin that runs its app
// (plugins/python is the first). The vassal owns processes, sockets and
// protocols; the plugin owns the interpreter. Nothing here includes Python.h.
#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/units.hpp"
#include "spooler/job.hpp"
#include "vassal/request.hpp"

namespace suz {

class ForkHooks;
class LoopHost;

// The request body, read on demand (never buffered whole). Reads block the
// calling thread up to the I/O timeout; a timeout or a broken client throws
// ClientError.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Up to max bytes into buf; 0 at the end of the body.
  virtual std::size_t read(char* buf, std::size_t max) = 0;
};

// The response. start() may be called again before the first body byte
// (WSGI's exc_info rule); after that it throws.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  using Headers = std::vector<std::pair<std::string, std::string>>;
  virtual void start(std::string status, Headers headers) = 0;
  virtual bool started() const = 0;        // headers are on the wire
  // Sends headers first if needed. last: no more body follows, so a response
  // without Content-Length can be given one instead of chunked framing.
  virtual void write(std::string_view data, bool last = false) = 0;
  // Sends up to count bytes of fd from offset with sendfile(2); returns bytes
  // sent (fewer at the end of the file).
  virtual std::size_t send_file(int fd, off_t offset, std::size_t count) = 0;
  // The app failed after the headers were sent: the response cannot be
  // completed, so the connection is closed without finishing it.
  virtual void abort() = 0;
  // The client went away or timed out during this exchange (a read or a
  // write failed): not the app's fault, so not logged as an app error.
  virtual bool client_gone() const = 0;
};

// Thrown by readers and writers when the client is gone or too slow: the
// request is abandoned and the connection closed, the worker lives on.
class ClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One request handed to the app: what the app needs to know about it.
struct Exchange {
  Request& request;
  BodyReader& body;
  ResponseWriter& response;
  std::string script_name;  // the mount prefix ("" at the root)
  std::string path_info;    // request.path without the prefix
  std::size_t app_index;    // which mounted app
};

// A mounted app as the vassal knows it.
struct MountPoint {
  std::string prefix;  // "" for the root, "/api"
  std::size_t app_index;
};

// The mount that serves path (mounts longest prefix first); null: none.
inline const MountPoint* mount_for(const std::vector<MountPoint>& mounts, const std::string& path) {
  for (const MountPoint& m : mounts)
    if (m.prefix.empty() || path == m.prefix || (path.starts_with(m.prefix) && path[m.prefix.size()] == '/'))
      return &m;
  return nullptr;
}

// What running a job came to.
struct JobOutcome {
  bool done = true;
  std::string error;                    // not done: the traceback, or the reason the handler gave
  std::optional<Duration> retry_after;  // not done: the delay the handler asked for, if it did
};

// The app's own hooks (@suzerain.worker_exit ...), each run where and when
// its name says, within kHookBound; an exception is logged, never thrown.
enum class Hook {
  kWorkerExit,   // a worker or spooler stopping gracefully, before it exits
  kMasterReady,  // the master, each time every worker serves (start, reload)
  kMasterExit,   // the master, as it exits
  kHarakiri,     // a worker or spooler whose request passed harakiri, before the kill (run_harakiri_hook)
};

// A request (or job) past harakiri, as @suzerain.harakiri is given it.
struct StuckRequest {
  std::string request;  // "GET /x", or the job
  double seconds = 0;   // how long it has run
  int thread = 0;       // the app thread running it, from 1
};
inline constexpr Duration kHookBound = std::chrono::seconds(5);

class AppPlugin {
 public:
  virtual ~AppPlugin() = default;

  // Runs the app's functions for hook, waiting for them at most kHookBound.
  // Never throws.
  virtual void run_hook(Hook hook, std::string_view detail = {}) = 0;
  // Whether the app registered any function for hook (read once, in the master).
  virtual bool hooked(Hook hook) const = 0;
  // The harakiri hooks, on a thread of the caller's own while the stuck one
  // still runs, within kHarakiriHookBound (core/signals.hpp). Never throws.
  virtual void run_harakiri_hook(const StuckRequest& stuck) = 0;

  // In the master, before the first fork: load what is shared copy-on-write.
  // Throws AppLoadError with the traceback.
  virtual void load_in_master() = 0;
  // The plugin's before/after-fork hooks (registered once, in the master).
  virtual void register_fork_hooks(ForkHooks& hooks) = 0;
  // In a freshly forked worker: load per-worker apps, prepare `threads` threads.
  virtual void start_worker(int worker_id, int threads) = 0;
  // Each app thread calls this once before its first request (thread index < threads).
  virtual void attach_thread(int thread_index) = 0;
  // Runs one request on an attached thread. Exceptions from the app are
  // handled inside (500 + traceback); ClientError propagates.
  virtual void handle(int thread_index, Exchange& exchange) = 0;
  // In a freshly forked spooler process: the app's post-fork hooks run; the
  // job handler (loaded in the master) is ready for run_job.
  virtual void start_spooler(int spooler_id) = 0;
  // Runs one job on the spooler's thread. The handler's exceptions become
  // the outcome; nothing throws.
  virtual JobOutcome run_job(const Job& job) = 0;
  // ASGI ([app] interface = "asgi"): runs the worker's event loop on the
  // calling thread (the app's startup and shutdown included) until the host
  // asks it to stop (vassal/loop_host.hpp). threads: the loop's executor for
  // blocking calls. Never throws.
  virtual void run_event_loop(LoopHost& host, int threads) = 0;
  // The URL prefixes served, longest first.
  virtual std::vector<MountPoint> mounts() const = 0;
};

class AppLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace suz
