// The emperor's per-file state machine (emperor/vassal.hpp) with its
// launcher replaced: no master is started and no signal sent, but each
// "master" gets a real channel (a socketpair), and its messages arrive
// through a real libev loop, turned once, never waited on.
#include "emperor/vassal.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <map>
#include <string>
#include <vector>

#include "core/emperor_channel.hpp"

namespace suz {
namespace {

int exited_with(int code) { return (code & 0xff) << 8; }

const char* kConfig = "[app]\nmodule = \"hello\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n";
const char* kOtherConfig = "[app]\nmodule = \"hello\"\n[server]\nhttp = [\"127.0.0.1:0\"]\nworkers = 3\n";

FileRead text(const std::string& s) {
  FileRead r;
  r.text = s;
  return r;
}

class EmperorVassal : public testing::Test {
 protected:
  EmperorVassal() {
    spdlog::set_level(spdlog::level::off);
    options_.dir = "/nonexistent";
    options_.max_backoff = 4;
    vassal_ = std::make_unique<Vassal>(loop_, options_, "app.toml", launcher());
  }
  ~EmperorVassal() override {
    vassal_.reset();
    ev_loop_destroy(loop_);
    spdlog::set_level(spdlog::level::info);
  }

  MasterLauncher launcher() {
    return {[this](const LaunchSpec&) {
              int fds[2];
              if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) throw std::runtime_error("socketpair");
              pid_t pid = next_pid_++;
              launched_.push_back(pid);
              masters_end_[pid] = Fd(fds[1]);
              return Launched{pid, Fd(fds[0])};
            },
            [this](pid_t pid, int sig) { signals_.emplace_back(pid, sig); }};
  }

  void file(const char* config, Vassal::Event e = Vassal::Event::kFilePresent) {
    vassal_->take_read(text(config));
    vassal_->on(e);
  }
  // The master says something on its channel; the emperor's loop hears it.
  void says(pid_t pid, std::string_view message) {
    ASSERT_EQ(::send(masters_end_.at(pid).get(), message.data(), message.size(), 0), static_cast<ssize_t>(message.size()));
    ev_run(loop_, EVRUN_NOWAIT);
  }
  // What the emperor told the master on its channel, if anything.
  std::string heard(pid_t pid) {
    char buf[64];
    ssize_t n = ::recv(masters_end_.at(pid).get(), buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
  void dies(pid_t pid, int status = exited_with(1)) { ASSERT_TRUE(vassal_->reaped(pid, status)); }

  struct ev_loop* loop_ = ev_loop_new(0);
  EmperorOptions options_;
  std::unique_ptr<Vassal> vassal_;
  // Beyond any pid_max, should a signal ever escape.
  pid_t next_pid_ = 1 << 23;
  std::vector<pid_t> launched_;
  std::vector<std::pair<pid_t, int>> signals_;
  std::map<pid_t, Fd> masters_end_;
};

TEST_F(EmperorVassal, a_new_file_starts_a_master_that_runs_once_ready) {
  file(kConfig);
  ASSERT_EQ(launched_.size(), 1u);
  EXPECT_EQ(vassal_->state(), VassalState::kStarting);
  says(launched_[0], emperor_channel::kReady);
  EXPECT_EQ(vassal_->state(), VassalState::kRunning);
  EXPECT_EQ(vassal_->pid(), launched_[0]);
}

TEST_F(EmperorVassal, quick_deaths_back_off_0_5_1_2_seconds_up_to_max_backoff) {
  file(kConfig);
  dies(launched_.back());  // the first death: restarted at once
  EXPECT_EQ(launched_.size(), 2u);
  EXPECT_EQ(vassal_->state(), VassalState::kStarting);
  std::vector<double> delays;
  for (int i = 0; i < 5; ++i) {
    dies(launched_.back());
    ASSERT_EQ(vassal_->state(), VassalState::kBackoff);
    delays.push_back(vassal_->restart_in().value_or(-1));
    vassal_->on(Vassal::Event::kBackoffElapsed);
  }
  ASSERT_EQ(delays.size(), 5u);
  std::vector<double> expected{0.5, 1, 2, 4, 4};
  for (std::size_t i = 0; i < delays.size(); ++i) EXPECT_NEAR(delays[i], expected[i], 0.05) << i;
  EXPECT_EQ(vassal_->restarts(), 6);
}

TEST_F(EmperorVassal, a_master_that_served_healthy_long_enough_is_restarted_at_once) {
  options_.healthy_after = 0;
  file(kConfig);
  dies(launched_.back());
  dies(launched_.back());
  ASSERT_EQ(vassal_->state(), VassalState::kBackoff);
  vassal_->on(Vassal::Event::kBackoffElapsed);
  says(launched_.back(), emperor_channel::kReady);
  std::size_t before = launched_.size();
  dies(launched_.back(), SIGKILL);
  EXPECT_EQ(launched_.size(), before + 1);
  EXPECT_EQ(vassal_->state(), VassalState::kStarting);
}

TEST_F(EmperorVassal, a_changed_file_starts_a_new_master_beside_the_serving_one_which_stops_once_it_serves) {
  file(kConfig);
  pid_t old = launched_.back();
  says(old, emperor_channel::kReady);
  file(kOtherConfig);
  ASSERT_EQ(launched_.size(), 2u);
  pid_t next = launched_.back();
  EXPECT_EQ(vassal_->state(), VassalState::kReloading);
  EXPECT_EQ(vassal_->pid(), old);
  EXPECT_EQ(heard(old), "");  // still serving
  says(next, emperor_channel::kReady);
  EXPECT_EQ(vassal_->state(), VassalState::kRunning);
  EXPECT_EQ(vassal_->pid(), next);
  EXPECT_EQ(heard(old), emperor_channel::kStop);
}

TEST_F(EmperorVassal, a_new_master_that_dies_before_serving_leaves_the_old_one_serving) {
  file(kConfig);
  pid_t old = launched_.back();
  says(old, emperor_channel::kReady);
  vassal_->take_read(text(kOtherConfig));
  vassal_->on(Vassal::Event::kReload);
  dies(launched_.back(), exited_with(4));
  EXPECT_EQ(vassal_->state(), VassalState::kRunning);
  EXPECT_EQ(vassal_->pid(), old);
  EXPECT_EQ(heard(old), "");
  EXPECT_EQ(vassal_->last_exit(), "exited with 4 (app load error)");
}

TEST_F(EmperorVassal, an_invalid_change_keeps_the_previous_configuration_running) {
  file(kConfig);
  says(launched_.back(), emperor_channel::kReady);
  file("[app]\nmodule = 3\n");
  EXPECT_EQ(launched_.size(), 1u);
  EXPECT_EQ(vassal_->state(), VassalState::kRunning);
}

TEST_F(EmperorVassal, a_file_seen_again_with_the_same_bytes_is_not_reloaded) {
  file(kConfig);
  says(launched_.back(), emperor_channel::kReady);
  file(kConfig, Vassal::Event::kFileSeen);
  EXPECT_EQ(launched_.size(), 1u);
  file(kOtherConfig, Vassal::Event::kFileSeen);
  EXPECT_EQ(launched_.size(), 2u);
}

TEST_F(EmperorVassal, a_removed_file_asks_its_master_to_stop_and_finishes_when_it_is_reaped) {
  file(kConfig);
  pid_t pid = launched_.back();
  says(pid, emperor_channel::kReady);
  vassal_->on(Vassal::Event::kFileGone);
  EXPECT_EQ(vassal_->state(), VassalState::kStopping);
  EXPECT_EQ(heard(pid), emperor_channel::kStop);
  EXPECT_TRUE(signals_.empty());  // a serving master reads its channel: no signal needed
  EXPECT_FALSE(vassal_->finished());
  dies(pid, exited_with(0));
  EXPECT_TRUE(vassal_->finished());
}

TEST_F(EmperorVassal, a_master_not_serving_yet_is_also_signalled_when_asked_to_stop) {
  file(kConfig);
  vassal_->on(Vassal::Event::kFileGone);
  ASSERT_EQ(signals_.size(), 1u);
  EXPECT_EQ(signals_[0], std::make_pair(launched_.back(), SIGTERM));
}

// An operator's command (emperor/control.hpp) waits on an outcome.
struct Answers {
  std::vector<std::pair<bool, std::string>> got;
  Vassal::Answer take() {
    return [this](bool ok, const std::string& message) { got.emplace_back(ok, message); };
  }
};

TEST_F(EmperorVassal, stop_holds_a_vassal_stopped_through_file_changes_until_start) {
  file(kConfig);
  pid_t pid = launched_.back();
  says(pid, emperor_channel::kReady);
  Answers stop;
  vassal_->await(Vassal::Awaited::kStopped, stop.take());
  vassal_->on(Vassal::Event::kHold);
  EXPECT_EQ(vassal_->state(), VassalState::kStopping);
  EXPECT_EQ(heard(pid), emperor_channel::kStop);
  EXPECT_TRUE(stop.got.empty());  // answered when the master is gone, not when asked
  dies(pid, exited_with(0));
  EXPECT_EQ(vassal_->state(), VassalState::kStopped);
  ASSERT_EQ(stop.got.size(), 1u);
  EXPECT_TRUE(stop.got[0].first);
  EXPECT_FALSE(vassal_->finished());  // its file is still there

  file(kOtherConfig);  // an edit, a touch, the emperor's HUP: nothing starts
  file(kOtherConfig, Vassal::Event::kReload);
  EXPECT_EQ(launched_.size(), 1u);
  EXPECT_EQ(vassal_->state(), VassalState::kStopped);

  Answers start;
  vassal_->await(Vassal::Awaited::kServing, start.take());
  file(kOtherConfig, Vassal::Event::kRelease);
  ASSERT_EQ(launched_.size(), 2u);
  EXPECT_EQ(vassal_->state(), VassalState::kStarting);
  EXPECT_TRUE(start.got.empty());
  says(launched_.back(), emperor_channel::kReady);
  ASSERT_EQ(start.got.size(), 1u);
  EXPECT_TRUE(start.got[0].first) << start.got[0].second;
  EXPECT_EQ(vassal_->state(), VassalState::kRunning);
}

TEST_F(EmperorVassal, reload_is_answered_by_the_new_master_serving_or_failing_with_the_old_one_kept) {
  file(kConfig);
  pid_t old = launched_.back();
  says(old, emperor_channel::kReady);
  Answers reload;
  vassal_->await(Vassal::Awaited::kServing, reload.take());
  file(kOtherConfig, Vassal::Event::kReload);
  pid_t next = launched_.back();
  ASSERT_NE(next, old);
  EXPECT_TRUE(reload.got.empty());
  dies(next, exited_with(4));
  ASSERT_EQ(reload.got.size(), 1u);
  EXPECT_FALSE(reload.got[0].first);
  EXPECT_NE(reload.got[0].second.find("keeps serving"), std::string::npos) << reload.got[0].second;
  EXPECT_EQ(vassal_->pid(), old);

  vassal_->await(Vassal::Awaited::kServing, reload.take());
  file(kOtherConfig, Vassal::Event::kReload);
  says(launched_.back(), emperor_channel::kReady);
  ASSERT_EQ(reload.got.size(), 2u);
  EXPECT_TRUE(reload.got[1].first);
  EXPECT_EQ(vassal_->pid(), launched_.back());
}

TEST_F(EmperorVassal, reload_of_an_invalid_file_fails_at_once_naming_the_key) {
  file(kConfig);
  says(launched_.back(), emperor_channel::kReady);
  Answers reload;
  vassal_->await(Vassal::Awaited::kServing, reload.take());
  file((std::string(kConfig) + "workers = \"many\"\n").c_str(), Vassal::Event::kReload);
  ASSERT_EQ(reload.got.size(), 1u);
  EXPECT_FALSE(reload.got[0].first);
  EXPECT_NE(reload.got[0].second.find("workers"), std::string::npos) << reload.got[0].second;
  EXPECT_EQ(vassal_->state(), VassalState::kRunning);
  EXPECT_EQ(launched_.size(), 1u);
}

TEST_F(EmperorVassal, reload_and_start_of_a_stopped_vassal_and_stop_of_a_stopped_one) {
  file(kConfig);
  Answers stop, reload;
  vassal_->await(Vassal::Awaited::kStopped, stop.take());
  vassal_->on(Vassal::Event::kHold);  // a master not serving yet: signalled
  dies(launched_.back(), exited_with(0));
  ASSERT_EQ(stop.got.size(), 1u);
  vassal_->await(Vassal::Awaited::kServing, reload.take());
  file(kConfig, Vassal::Event::kReload);
  ASSERT_EQ(reload.got.size(), 1u);
  EXPECT_FALSE(reload.got[0].first);
  EXPECT_NE(reload.got[0].second.find("emperor start"), std::string::npos);
  vassal_->await(Vassal::Awaited::kStopped, stop.take());
  vassal_->on(Vassal::Event::kHold);
  ASSERT_EQ(stop.got.size(), 2u);
  EXPECT_TRUE(stop.got[1].first);
  EXPECT_EQ(stop.got[1].second, "already stopped");
}

TEST_F(EmperorVassal, start_during_the_stop_starts_it_again_once_the_old_master_is_gone) {
  file(kConfig);
  pid_t pid = launched_.back();
  says(pid, emperor_channel::kReady);
  Answers stop, start;
  vassal_->await(Vassal::Awaited::kStopped, stop.take());
  vassal_->on(Vassal::Event::kHold);
  vassal_->await(Vassal::Awaited::kServing, start.take());
  file(kConfig, Vassal::Event::kRelease);
  EXPECT_EQ(launched_.size(), 1u);  // the old master first leaves
  dies(pid, exited_with(0));
  ASSERT_EQ(stop.got.size(), 1u);
  EXPECT_TRUE(stop.got[0].first);
  ASSERT_EQ(launched_.size(), 2u);
  says(launched_.back(), emperor_channel::kReady);
  ASSERT_EQ(start.got.size(), 1u);
  EXPECT_TRUE(start.got[0].first);
}

TEST_F(EmperorVassal, a_start_that_dies_before_serving_fails_and_waiters_left_at_the_end_are_answered) {
  file(kConfig);
  Answers start;
  vassal_->await(Vassal::Awaited::kServing, start.take());
  dies(launched_.back(), exited_with(4));
  ASSERT_EQ(start.got.size(), 1u);
  EXPECT_FALSE(start.got[0].first);
  EXPECT_NE(start.got[0].second.find("before serving"), std::string::npos) << start.got[0].second;

  Answers forgotten;
  vassal_->await(Vassal::Awaited::kServing, forgotten.take());
  vassal_.reset();
  ASSERT_EQ(forgotten.got.size(), 1u);
  EXPECT_FALSE(forgotten.got[0].first);
}

}  // namespace
}  // namespace suz
