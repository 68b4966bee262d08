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
  ev::async* wake = nullptr;
};

FileReads::FileReads(struct ev_loop* loop) : box_(std::make_shared<Mailbox>()), wake_(loop), check_(loop) {
  box_->wake = &wake_;
  wake_.set<FileReads, &FileReads::deliver>(this);
  wake_.start();
  check_.set<FileReads, &FileReads::check_slow>(this);
  check_.set(1., 1.);
}

FileReads::~FileReads() {
  {
    std::lock_guard<std::mutex> lock(box_->mutex);
    box_->closed = true;
  }
}

void FileReads::read(const std::filesystem::path& file, Done done) {
  std::uint64_t id = next_id_++;
  waiting_.emplace(id, Waiting{file, std::move(done), std::chrono::steady_clock::now()});
  if (!check_.is_active()) check_.start();
  std::thread([box = box_, file, id] {
    FileRead r;
    r.text = read_config_file(file, kMaxConfigFileBytes, &r.owner);
    std::lock_guard<std::mutex> lock(box->mutex);
    if (box->closed) return;
    box->done.emplace_back(id, std::move(r));
    box->wake->send();
  }).detach();
}

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
  if (waiting_.empty()) check_.stop();
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
