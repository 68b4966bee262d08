#include "emperor/file_reads.hpp"

#include <spdlog/spdlog.h>

#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "core/log.hpp"

namespace suz {

struct FileReads::Mailbox {
  std::mutex mutex;
  std::deque<std::pair<std::uint64_t, FileRead>> done;
  bool closed = false;  // the emperor no longer listens: results are dropped
  struct ev_loop* loop = nullptr;
  ev_async* wake = nullptr;
};

FileReads::FileReads(struct ev_loop* loop) : loop_(loop), box_(std::make_shared<Mailbox>()) {
  box_->loop = loop;
  box_->wake = &wake_;
  ev_async_init(&wake_, on_wake);
  wake_.data = this;
  ev_async_start(loop_, &wake_);
  ev_timer_init(&check_, on_check, 1., 1.);
  check_.data = this;
}

FileReads::~FileReads() {
  {
    std::lock_guard<std::mutex> lock(box_->mutex);
    box_->closed = true;
  }
  ev_async_stop(loop_, &wake_);
  ev_timer_stop(loop_, &check_);
}

void FileReads::read(const std::filesystem::path& file, Done done) {
  std::uint64_t id = next_id_++;
  waiting_.emplace(id, Waiting{file, std::move(done), std::chrono::steady_clock::now()});
  if (!ev_is_active(&check_)) ev_timer_start(loop_, &check_);
  std::thread([box = box_, file, id] {
    FileRead r;
    r.text = read_config_file(file, kMaxConfigFileBytes, &r.owner);
    std::lock_guard<std::mutex> lock(box->mutex);
    if (box->closed) return;
    box->done.emplace_back(id, std::move(r));
    ev_async_send(box->loop, box->wake);
  }).detach();
}

void FileReads::on_wake(struct ev_loop*, ev_async* w, int) { static_cast<FileReads*>(w->data)->deliver(); }
void FileReads::on_check(struct ev_loop*, ev_timer* w, int) { static_cast<FileReads*>(w->data)->check_slow(); }

void FileReads::deliver() {
  std::deque<std::pair<std::uint64_t, FileRead>> done;
  {
    std::lock_guard<std::mutex> lock(box_->mutex);
    done.swap(box_->done);
  }
  for (auto& [id, read] : done) {
    auto it = waiting_.find(id);
    if (it == waiting_.end()) continue;
    Waiting w = std::move(it->second);
    waiting_.erase(it);
    if (w.said_slow) spdlog::info("{}: read at last", escaped(w.file.string()));
    w.done(std::move(read));  // may call read() again, or destroy nothing of ours
  }
  if (waiting_.empty()) ev_timer_stop(loop_, &check_);
}

void FileReads::check_slow() {
  auto now = std::chrono::steady_clock::now();
  for (auto& [id, w] : waiting_) {
    if (w.said_slow || now - w.since < kSlowRead) continue;
    w.said_slow = true;
    spdlog::warn("{}: still being read after {}s (a slow or hung filesystem?); every other vassal is supervised "
                 "meanwhile",
                 escaped(w.file.string()), kSlowRead.count());
  }
}

}  // namespace suz
