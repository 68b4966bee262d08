#include "spooler/boot_id.hpp"

#include <algorithm>
#include <fstream>

namespace suz {

const std::string& boot_id() {
  static const std::string id = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string line;
    std::getline(in, line);
    line.erase(std::remove(line.begin(), line.end(), '-'), line.end());
    return line.size() >= 8 ? line.substr(0, 8) : std::string("00000000");
  }();
  return id;
}

}  // namespace suz
