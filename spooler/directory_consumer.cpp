#include "spooler/directory_consumer.hpp"

#include <algorithm>
#include <stdexcept>

namespace suz {

DirectoryConsumer::DirectoryConsumer(const std::filesystem::path& dir, const ConsumerOptions& options)
    : queue_(dir),
      claimant_(queue_, options.owner),
      pending_(queue_),
      // One spooler takes jobs strictly oldest first; siblings spread out.
      spread_(options.siblings > 1 ? std::min(16, 2 * options.siblings) : 1),
      checkpoints_([this] { queue_.checkpoint(); }) {
  queue_.set_disposer(&disposer_);
  queue_.on_corrupt = options.on_corrupt;
}

void DirectoryConsumer::checkpoint() {
  if (auto error = checkpoints_.take_error()) throw std::runtime_error(*error);
  if (!settled_) return;
  settled_ = false;
  checkpoints_.request();
}

std::optional<ClaimedJob> DirectoryConsumer::claim(std::int64_t now_ms, std::optional<std::int64_t>* wake_at_ms) {
  for (;;) {
    std::optional<JobName> name = pending_.next(now_ms, wake_at_ms, spread_);
    if (!name) return std::nullopt;
    pending_.forget(*name);
    // nullopt: another spooler took it (or it was corrupt): on to the next.
    if (auto claimed = queue_.try_claim(claimant_.dir(), *name)) return claimed;
  }
}

}  // namespace suz
