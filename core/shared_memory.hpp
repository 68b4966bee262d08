#pragma once
// An anonymous MAP_SHARED mapping: created before fork(2), it is the same
// memory in the parent and every child (the workers' scoreboard lives here).
#include <cstddef>

namespace suz {

class SharedMemory {
 public:
  SharedMemory() = default;
  explicit SharedMemory(std::size_t size);  // zero-filled; throws std::system_error
  SharedMemory(SharedMemory&& o) noexcept;
  SharedMemory& operator=(SharedMemory&& o) noexcept;
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  ~SharedMemory();

  void* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace suz
