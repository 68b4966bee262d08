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

}  // namespace
}  // namespace suz
