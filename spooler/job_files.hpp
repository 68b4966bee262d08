#pragma once
// The file operations the directory spool is made of, shared by the queue
// and the journal's replay.
#include <cerrno>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/fd.hpp"
#include "spooler/job.hpp"

namespace suz::job_files {

[[noreturn]] void fail_errno(const std::string& what, const std::filesystem::path& path, int err = errno);
Fd open_dir(const std::filesystem::path& path);  // throws std::system_error
// Creates path (O_EXCL, mode 0600: job files hold whatever the app put in
// them) with bytes; the fd stays open. Throws std::system_error, leaving
// nothing behind.
Fd write_file(const std::filesystem::path& path, const std::string& bytes);
// Writes bytes over the whole of an existing file (a recycled one, from
// free/), leaving it exactly that long; the fd stays open. An invalid Fd
// (errno set) when it cannot, e.g. a file another user recycled.
Fd overwrite_file(const std::filesystem::path& path, const std::string& bytes);
std::optional<std::string> read_file(const std::filesystem::path& path);
// The job files of a directory (names that parse), sorted in run order;
// other names (but *.error notes) into *strangers.
std::vector<std::pair<JobName, std::filesystem::path>> jobs_in(const std::filesystem::path& dir,
                                                              std::vector<std::filesystem::path>* strangers = nullptr);

}  // namespace suz::job_files
