#pragma once
// Starts a real `emperor` on a fresh vassal directory. The vassals' logs come
// through the emperor's stderr (they inherit it), so one Spawned sees all.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/spawned.hpp"

namespace suz::test {

// A vassal file for tests/integration/apps/MODULE, on a kernel-chosen port.
std::string tiny_vassal(const std::string& module = "lifetime_app", int workers = 1);

class EmperorUnderTest {
 public:
  // Files written before the emperor starts are its boot set.
  // prefix: a command the emperor runs under (e.g. setpriv to drop root).
  // prepare: runs before the emperor starts, given the directory (to make
  // what write() cannot: a FIFO, a symlink); it returns the path passed as
  // --vassals (the directory itself, or a symlink to another one).
  using Prepare = std::function<std::filesystem::path(const std::filesystem::path& dir)>;
  explicit EmperorUnderTest(std::vector<std::pair<std::string, std::string>> files = {},
                            std::vector<std::string> extra_args = {}, std::vector<std::string> prefix = {},
                            Prepare prepare = {});

  // Writes DIR/NAME.toml ("@APPS@" replaced), as an editor's atomic save: one rename.
  void write(const std::string& name, std::string toml);
  void touch(const std::string& name);
  void remove(const std::string& name);
  std::filesystem::path path_of(const std::string& name) const { return dir_.path() / (name + ".toml"); }

  // The http port vassal NAME listens on (its first "listening on" line), 0 if none in time.
  int port_of(const std::string& name, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Waits for the emperor to report vassal NAME serving `times` times in all
  // (a reload counts again); returns the pid of the master that serves.
  pid_t wait_serving(const std::string& name, int times = 1, std::chrono::milliseconds timeout = std::chrono::seconds(30));

  Spawned& process() { return *process_; }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  std::unique_ptr<Spawned> process_;
};

// Every process whose command line (or ps title) contains marker.
std::vector<pid_t> processes_matching(const std::string& marker);
// Every live process of process group pgid.
std::vector<pid_t> processes_in_group(pid_t pgid);
// Waits until no process of the group is left but zombies. A killed
// process stays in /proc for a moment after its command line is emptied
// (processes_gone() no longer sees it then), so a group is checked this way.
bool group_gone(pid_t pgid, std::chrono::milliseconds timeout = std::chrono::seconds(10));
// Waits until no process matches marker (a killed process takes a moment to
// leave /proc); false at the timeout.
bool processes_gone(const std::string& marker, std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace suz::test
