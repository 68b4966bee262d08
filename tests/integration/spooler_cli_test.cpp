// The `spooler` command line on a real spool directory.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/exit_code.hpp"
#include "spooler/directory_queue.hpp"
#include "tests/support/process.hpp"

namespace suz::test {
namespace {

RunResult spooler(std::vector<std::string> args) {
  args.insert(args.begin(), program("spooler"));
  return run(args);
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST(SpoolerCli, push_then_ls_show_stats_and_rm) {
  TempDir dir;
  std::string spool = (dir.path() / "spool").string();
  auto pushed = spooler({"push", spool, "--create", "to=a@example.com", "subject=welcome", "--priority", "5"});
  ASSERT_EQ(pushed.exit_code(), 0) << pushed.err;
  std::string id = trimmed(pushed.out);
  ASSERT_FALSE(id.empty());
  auto later = spooler({"push", spool, "n=2", "--at", "+1h"});
  ASSERT_EQ(later.exit_code(), 0) << later.err;

  auto ls = spooler({"ls", spool, "--json"});
  ASSERT_EQ(ls.exit_code(), 0) << ls.err;
  auto jobs = nlohmann::json::parse(ls.out);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0]["id"], id) << "higher priority listed first";
  EXPECT_EQ(jobs[0]["priority"], 5);

  auto shown = spooler({"show", spool, id});
  ASSERT_EQ(shown.exit_code(), 0) << shown.err;
  auto job = nlohmann::json::parse(shown.out);
  EXPECT_EQ(job["args"]["to"], "a@example.com");
  EXPECT_EQ(job["args"]["subject"], "welcome");

  auto stats = spooler({"stats", spool, "--json"});
  ASSERT_EQ(stats.exit_code(), 0);
  auto counts = nlohmann::json::parse(stats.out);
  EXPECT_EQ(counts["queued"], 2);
  EXPECT_EQ(counts["due"], 1) << "the +1h job is not due";

  ASSERT_EQ(spooler({"rm", spool, id}).exit_code(), 0);
  EXPECT_EQ(nlohmann::json::parse(spooler({"stats", spool, "--json"}).out)["queued"], 1);
}

TEST(SpoolerCli, a_body_from_a_file_is_kept_byte_for_byte) {
  TempDir dir;
  std::string spool = (dir.path() / "spool").string();
  std::string bytes("\x00\x01\xfe\xff and text\n", 15);
  auto file = dir.write("body.bin", bytes);
  auto pushed = spooler({"push", spool, "--create", "--body", file.string()});
  ASSERT_EQ(pushed.exit_code(), 0) << pushed.err;
  DirectoryQueue q(spool);
  auto claimed = q.claim("test");
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->job.body, bytes);
}

TEST(SpoolerCli, failed_jobs_are_listed_shown_with_their_error_and_retried) {
  TempDir dir;
  std::string spool = (dir.path() / "spool").string();
  std::string id = trimmed(spooler({"push", spool, "--create", "k=v"}).out);
  DirectoryQueue q(spool);
  auto claimed = q.claim("test");
  ASSERT_TRUE(claimed);
  q.fail(*claimed, "Traceback (most recent call last):\nValueError: nope");
  auto failed = nlohmann::json::parse(spooler({"ls", spool, "--failed", "--json"}).out);
  ASSERT_EQ(failed.size(), 1u);
  auto shown = nlohmann::json::parse(spooler({"show", spool, id}).out);
  EXPECT_EQ(shown["state"], "failed");
  EXPECT_NE(shown["error"].get<std::string>().find("ValueError: nope"), std::string::npos);
  ASSERT_EQ(spooler({"retry", spool, "--all-failed"}).exit_code(), 0);
  auto back = q.claim("test");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->job.name.id, id);
  EXPECT_EQ(back->job.name.attempt, 0);
}

TEST(SpoolerCli, bad_input_gets_a_clear_error_and_a_usage_exit_code) {
  TempDir dir;
  std::string spool = (dir.path() / "spool").string();
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  std::vector<Case> cases = {
      {{"ls", "/nonexistent/spool"}, "/nonexistent/spool: no such spool directory"},
      {{"push", spool, "--create", "novalue"}, "argument \"novalue\": expected key=value"},
      {{"push", spool, "--create", "k=v", "--priority", "5000"}, "--priority 5000: out of range -999..999"},
      {{"push", spool, "--create", "k=v", "--at", "tomorrow"}, "--at tomorrow: expected"},
      {{"show", (dir.path()).string(), "x"}, "not a spool directory"},
  };
  for (const Case& c : cases) {
    auto r = spooler(c.args);
    EXPECT_EQ(r.exit_code(), to_int(ExitCode::kUsage)) << testing::PrintToString(c.args) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
  }
  spooler({"push", spool, "--create", "k=v"});
  auto missing = spooler({"show", spool, "nope"});
  EXPECT_EQ(missing.exit_code(), to_int(ExitCode::kUsage));
  EXPECT_NE(missing.err.find("no job nope"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace suz::test
