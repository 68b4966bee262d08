#pragma once
// For tests of spooler processes running tests/integration/apps/tasks.py:
// every job its handler runs leaves a line in the file named by the job's
// `out` argument, which is what the tests read; vassal files for it; and
// the `spooler` command line. A spool is a directory or a Redis URL.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "tests/support/vassal.hpp"

namespace suz::test {

// One line of an out file: "<event> <n> <job id> <attempt> <spooler id> <pid> <unix time>".
struct Ran {
  std::string event, n, id;
  int attempt = 0;
  int spooler = 0;
  pid_t pid = 0;
  double time = 0;
};

std::vector<Ran> read_out(const std::filesystem::path& out);
std::size_t count_event(const std::filesystem::path& out, const std::string& event);

// Polls (every 10 ms) until done() or the timeout: what the test waits for is
// work other processes do, reported only through files.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout);

// A vassal running tasks.py's handler on `spool`; with serve, also its WSGI
// app (GET /spool) on one worker of four threads. `more`: more [spooler] keys.
std::string spooler_vassal(const std::string& spool, int processes, const std::string& more = "", bool serve = true);

// Waits until the master says every child runs.
void wait_running(VassalUnderTest& v);

// `spooler push SPOOL args...`; the job id.
std::string push_cli(const std::string& spool, std::vector<std::string> args);

// The body of GET target on port, or "" unless it answered 200.
std::string get(int port, const std::string& target);

// What a reboot makes of a directory spool's journal: its segments and its
// checkpoint now belong to a boot that is over (their writers, and the page
// cache that held their files, are gone). Fails the test if a segment has
// no header.
void pretend_rebooted(const std::filesystem::path& spool);

// Two vassals (two spoolers each) on one spool, 400 jobs that notice when
// another run of the same job overlaps them: each runs once, none
// overlaps, and spoolers of both vassals take part. dir: for the out file.
void two_vassals_share_a_spool_without_overlap(const std::string& spool, const TempDir& dir);

}  // namespace suz::test
