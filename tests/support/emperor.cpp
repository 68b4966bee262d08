#include "tests/support/emperor.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <system_error>
#include <thread>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "tests/support/vassal.hpp"

namespace suz::test {

std::string tiny_vassal(const std::string& module, int workers) {
  return app_config(module, workers, 1, "[lifetime]\ngraceful_timeout = \"5s\"\n");
}

EmperorUnderTest::EmperorUnderTest(std::vector<std::pair<std::string, std::string>> files,
                                   std::vector<std::string> extra_args, std::vector<std::string> prefix,
                                   Prepare prepare) {
  // Open to every user: vassals may run as another user (and read their
  // file), and an emperor started through `prefix` may not be root.
  std::filesystem::permissions(dir_.path(), std::filesystem::perms::all);
  for (auto& [name, toml] : files) write(name, toml);
  std::filesystem::path vassals = prepare ? prepare(dir_.path()) : dir_.path();
  std::vector<std::string> argv = prefix;
  argv.insert(argv.end(), {program("emperor"), "--vassals", vassals.string()});
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<Spawned>(argv, "", false, /*own_process_group=*/true);
  if (!process_->wait_for_line("watching .*: \\d+ vassal file", 30s))
    throw std::runtime_error("the emperor did not start:\n" + process_->output());
}

void EmperorUnderTest::write(const std::string& name, std::string toml) {
  for (std::size_t at; (at = toml.find("@APPS@")) != std::string::npos;) toml.replace(at, 6, apps_dir());
  auto tmp = dir_.path() / (".tmp-" + name);
  std::ofstream(tmp) << toml;
  std::filesystem::rename(tmp, dir_.path() / (name + ".toml"));
}

void EmperorUnderTest::touch(const std::string& name) {
  // What touch(1) does: both times set to now.
  auto path = dir_.path() / (name + ".toml");
  if (::utimensat(AT_FDCWD, path.c_str(), nullptr, 0) != 0)
    throw std::system_error(errno, std::generic_category(), "touch " + path.string());
}

void EmperorUnderTest::remove(const std::string& name) { std::filesystem::remove(dir_.path() / (name + ".toml")); }

int EmperorUnderTest::port_of(const std::string& name, std::chrono::milliseconds timeout) {
  auto m = process_->wait_for_line("vassal " + name + " \\(pid \\d+\\): listening on [^ ]*:(\\d+) \\(http", timeout);
  return m ? std::stoi((*m)[1]) : 0;
}

pid_t EmperorUnderTest::wait_serving(const std::string& name, int times, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  std::regex serving("vassal " + name + ": serving \\(pid (\\d+)\\)|vassal " + name + ": reloaded: pid (\\d+) serves");
  while (std::chrono::steady_clock::now() < until) {
    std::string log = process_->output();
    std::vector<pid_t> pids;
    for (std::sregex_iterator it(log.begin(), log.end(), serving), end; it != end; ++it)
      pids.push_back(std::stoi((*it)[1].matched ? (*it)[1].str() : (*it)[2].str()));
    if (static_cast<int>(pids.size()) >= times) return pids.back();
    process_->wait_for_line("vassal " + name + ": (serving|reloaded)", 100ms);
  }
  return 0;
}

std::vector<pid_t> processes_matching(const std::string& marker) {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(entry.path() / "status");
    std::string line, state;
    while (std::getline(status, line))
      if (line.rfind("State:", 0) == 0) state = line;
    if (state.find("Z (zombie)") != std::string::npos) continue;  // dead, waiting for its reaper
    std::ifstream cmdline(entry.path() / "cmdline");
    std::string text((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    if (text.find(marker) != std::string::npos) found.push_back(std::stoi(pid));
  }
  return found;
}

std::vector<pid_t> processes_in_group(pid_t pgid) {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::size_t close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(text.substr(close + 2));
    std::string state;
    long ppid = 0, group = 0;
    fields >> state >> ppid >> group;
    if (group == pgid && state != "Z") found.push_back(std::stoi(pid));
  }
  return found;
}

bool processes_gone(const std::string& marker, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!processes_matching(marker).empty()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

bool group_gone(pid_t pgid, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!processes_in_group(pgid).empty()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace suz::test
