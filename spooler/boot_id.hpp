#pragma once
#include <string>

namespace suz {

// This boot's id (8 hex digits, from /proc/sys/kernel/random/boot_id): what
// a process writes into tmp/ and journal/ is tagged with it, so that after a
// reboot the writer is known to be gone and the page cache with it. Read it
// once before forking or starting threads: a child forked during a static's
// first initialisation would wait on its guard forever.
const std::string& boot_id();

}  // namespace suz
