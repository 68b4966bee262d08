#pragma once
// In a worker or spooler whose app has @suzerain.harakiri hooks: the
// master's harakiri notice (core/signals.hpp) wakes a thread of the
// process's own, which hands the hooks the request past the limit (from the
// process's scoreboard record) and then kills the process. The notice is a
// signal because the thread that would read a message is the stuck one. It
// is blocked in the thread that makes the notice, before any other thread
// starts (so every thread inherits the block), and read from a signalfd.
#include <functional>
#include <optional>
#include <thread>

#include "core/fd.hpp"
#include "core/units.hpp"
#include "vassal/app.hpp"
#include "vassal/scoreboard.hpp"

namespace suz {

class HarakiriNotice {
 public:
  using Run = std::function<void(const StuckRequest&)>;

  // limit: the role's harakiri; run: the app's hooks (bounded by the plugin).
  // Made by the child's main thread before it starts any other.
  HarakiriNotice(const Scoreboard& board, int record, Duration limit, Run run);
  ~HarakiriNotice();  // the thread joined (the signal stays blocked)
  HarakiriNotice(const HarakiriNotice&) = delete;
  HarakiriNotice& operator=(const HarakiriNotice&) = delete;

 private:
  void listen();
  std::optional<StuckRequest> stuck_request() const;  // the request past limit, if one is

  const Scoreboard& board_;
  int record_;
  Duration limit_;
  Run run_;
  Fd signals_;                // the notice, as a signalfd
  Fd quit_read_, quit_write_;  // the destructor's word
  std::thread thread_;
};

}  // namespace suz
