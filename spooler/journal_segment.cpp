#include "spooler/journal_segment.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/crc.hpp>
#include <cerrno>
#include <cstring>
#include <random>
#include <system_error>
#include <time.h>

namespace fs = std::filesystem;

namespace suz {

namespace {

constexpr char kMagic[8] = {'S', 'U', 'Z', 'J', 'R', 'N', 'L', '1'};
constexpr std::size_t kBootField = 32;
constexpr std::size_t kHeaderUsed = 8 + kBootField + 8 + 8 + 4;
constexpr std::size_t kRecordFixed = 4 + 4 + 8;  // length, crc, epoch
constexpr std::size_t kPayloadFixed = 8 + 4;     // t_ns, count
constexpr const char* kSegmentPrefix = "seg-";

[[noreturn]] void fail_errno(const std::string& what, const fs::path& path, int err = errno) {
  throw std::system_error(err, std::generic_category(), what + " " + path.string());
}

std::uint32_t crc32(const char* data, std::size_t n) {
  boost::crc_32_type crc;
  crc.process_bytes(data, n);
  return crc.checksum();
}

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

template <class T>
T get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

bool pwrite_all(int fd, const char* data, std::size_t n, off_t at) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, at);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
    at += w;
  }
  return true;
}

std::string read_all(int fd) {
  std::string bytes(kJournalSegmentBytes, '\0');
  std::size_t have = 0;
  while (have < bytes.size()) {
    ssize_t n = ::pread(fd, bytes.data() + have, bytes.size() - have, static_cast<off_t>(have));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
  }
  bytes.resize(have);
  return bytes;
}

std::string random_hex() {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

// The segment files of journal_dir, each opened and, if nobody holds it,
// locked; fn(fd, path) for each locked one until it returns true.
template <class Fn>
void for_each_free_segment(const fs::path& journal_dir, Fn fn) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(journal_dir, ec)) {
    if (!e.path().filename().string().starts_with(kSegmentPrefix)) continue;
    Fd fd(::open(e.path().c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) continue;  // its owner lives
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != static_cast<off_t>(kJournalSegmentBytes))
      continue;  // not one of ours
    if (fn(fd, e.path())) return;
  }
}

}  // namespace

namespace {
constexpr const char* kCheckpointFile = "checkpoint";
constexpr std::size_t kCheckpointBytes = kBootField + 8 + 4;
}  // namespace

void write_journal_checkpoint(const fs::path& journal_dir, const std::string& boot, std::int64_t t_ns) {
  fs::path path = journal_dir / kCheckpointFile;
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) fail_errno("open", path);
  // Writers take turns, and none moves it back.
  if (::flock(fd.get(), LOCK_EX) < 0) fail_errno("lock", path);
  std::optional<std::int64_t> now = read_journal_checkpoint(journal_dir, boot);
  if (now && *now >= t_ns) return;
  std::string b = boot.substr(0, kBootField);
  b.resize(kBootField, '\0');
  put<std::int64_t>(b, t_ns);
  put<std::uint32_t>(b, crc32(b.data(), b.size()));
  if (!pwrite_all(fd.get(), b.data(), b.size(), 0) || ::fdatasync(fd.get()) < 0) fail_errno("write", path);
}

std::optional<std::int64_t> read_journal_checkpoint(const fs::path& journal_dir, const std::string& boot) {
  Fd fd(::open((journal_dir / kCheckpointFile).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  char b[kCheckpointBytes];
  if (!fd || ::pread(fd.get(), b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) return std::nullopt;
  if (get<std::uint32_t>(b + kBootField + 8) != crc32(b, kBootField + 8)) return std::nullopt;
  if (std::string(b, strnlen(b, kBootField)) != boot) return std::nullopt;
  return get<std::int64_t>(b + kBootField);
}

std::string journal_payload(std::int64_t t_ns, const std::vector<std::pair<std::string_view, std::string_view>>& items) {
  std::size_t n = kPayloadFixed;
  for (auto& [name, bytes] : items) n += 8 + name.size() + bytes.size();
  std::string out;
  out.reserve(n);
  put<std::int64_t>(out, t_ns);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(items.size()));
  for (auto& [name, bytes] : items) {
    put<std::uint32_t>(out, static_cast<std::uint32_t>(name.size()));
    put<std::uint32_t>(out, static_cast<std::uint32_t>(bytes.size()));
    out.append(name);
    out.append(bytes);
  }
  return out;
}

std::optional<JournalHeader> JournalSegment::read_header(int fd) {
  char b[kHeaderUsed];
  if (::pread(fd, b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) return std::nullopt;
  if (std::memcmp(b, kMagic, sizeof kMagic) != 0) return std::nullopt;
  if (get<std::uint32_t>(b + kHeaderUsed - 4) != crc32(b, kHeaderUsed - 4)) return std::nullopt;
  JournalHeader h;
  const char* boot = b + 8;
  h.boot.assign(boot, strnlen(boot, kBootField));
  h.epoch = get<std::uint64_t>(b + 8 + kBootField);
  h.checkpoint_ns = get<std::int64_t>(b + 8 + kBootField + 8);
  return h;
}

void JournalSegment::write_header(int fd, const JournalHeader& h) {
  std::string b(kMagic, sizeof kMagic);
  std::string boot = h.boot.substr(0, kBootField);
  boot.resize(kBootField, '\0');
  b += boot;
  put<std::uint64_t>(b, h.epoch);
  put<std::int64_t>(b, h.checkpoint_ns);
  put<std::uint32_t>(b, crc32(b.data(), b.size()));
  // One sector: it is written whole or not at all.
  if (!pwrite_all(fd, b.data(), b.size(), 0) || ::fdatasync(fd) < 0)
    throw std::system_error(errno, std::generic_category(), "write journal header");
}

std::vector<JournalRecord> JournalSegment::read_records(int fd, const JournalHeader& header, std::size_t* tail) {
  std::vector<JournalRecord> records;
  std::string all = read_all(fd);
  std::size_t pos = kJournalHeaderBytes;
  while (pos + kRecordFixed + kPayloadFixed <= all.size()) {
    const char* p = all.data() + pos;
    std::uint32_t length = get<std::uint32_t>(p);
    if (length < kRecordFixed + kPayloadFixed || length > all.size() - pos) break;
    if (get<std::uint32_t>(p + 4) != crc32(p + 8, length - 8)) break;  // torn, or zeros
    if (get<std::uint64_t>(p + 8) != header.epoch) break;                 // left from the last pass
    JournalRecord r;
    const char* q = p + kRecordFixed;
    const char* end = p + length;
    r.t_ns = get<std::int64_t>(q);
    std::uint32_t count = get<std::uint32_t>(q + 8);
    q += kPayloadFixed;
    bool whole = true;
    for (std::uint32_t i = 0; i < count && whole; ++i) {
      if (end - q < 8) { whole = false; break; }
      std::uint32_t nl = get<std::uint32_t>(q), bl = get<std::uint32_t>(q + 4);
      q += 8;
      if (static_cast<std::size_t>(end - q) < std::size_t(nl) + bl) { whole = false; break; }
      r.items.push_back({std::string(q, nl), std::string(q + nl, bl)});
      q += nl + bl;
    }
    if (!whole) break;  // a crc that matched garbage
    records.push_back(std::move(r));
    pos += length;
  }
  if (tail) *tail = pos;
  return records;
}

JournalSegment JournalSegment::acquire(const fs::path& journal_dir, const fs::path& tmp_dir, const std::string& boot,
                                       const Replay& replay) {
  std::optional<JournalSegment> found;
  for_each_free_segment(journal_dir, [&](Fd& fd, const fs::path& path) {
    std::optional<JournalHeader> h = read_header(fd.get());
    std::size_t tail = kJournalHeaderBytes;
    if (h && h->boot == boot) {
      // Left by a process of this boot: its records may still be needed
      // (their files are in the page cache, not yet on disk), so go on
      // after them.
      read_records(fd.get(), *h, &tail);
    } else {
      // A torn header was being rewritten after a sync: nothing in the
      // file is needed. An earlier boot's records go back to the queue
      // first.
      if (h) {
        try {
          replay(*h, read_records(fd.get(), *h));
        } catch (const std::exception&) {
          return false;  // left for recover_abandoned(), which reports it
        }
      }
      h = JournalHeader{boot, h ? h->epoch + 1 : 1, 0};
      write_header(fd.get(), *h);
    }
    found.emplace(JournalSegment(std::move(fd), path, *h, tail));
    return true;
  });
  if (found) return std::move(*found);

  // None free: a new one, zero-filled and synced before it is used, so that
  // appending never allocates (no metadata for fdatasync to flush).
  std::string name = kSegmentPrefix + random_hex();
  fs::path staging = tmp_dir / ("journal." + name);
  Fd fd(::open(staging.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) fail_errno("create", staging);
  auto give_up = [&](const std::string& what, int err) {
    ::unlink(staging.c_str());
    fail_errno(what, staging, err);
  };
  if (::flock(fd.get(), LOCK_EX) < 0) give_up("lock", errno);
  std::string zeros(64 * 1024, '\0');
  for (std::size_t at = 0; at < kJournalSegmentBytes; at += zeros.size())
    if (!pwrite_all(fd.get(), zeros.data(), zeros.size(), static_cast<off_t>(at))) give_up("write", errno);
  JournalHeader h{boot, 1, 0};
  try {
    write_header(fd.get(), h);
  } catch (const std::system_error& e) {
    give_up("write", e.code().value());
  }
  if (::fsync(fd.get()) < 0) give_up("sync", errno);
  fs::path path = journal_dir / name;
  if (::rename(staging.c_str(), path.c_str()) < 0) give_up("rename into " + journal_dir.string() + " from", errno);
  // Its name must survive a crash as surely as the records it will hold.
  Fd dir(::open(journal_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir || ::fsync(dir.get()) < 0) fail_errno("sync", journal_dir);
  return JournalSegment(std::move(fd), std::move(path), std::move(h), kJournalHeaderBytes);
}

std::size_t JournalSegment::replay_abandoned(const fs::path& journal_dir, const std::string& boot, const Replay& replay) {
  std::size_t restored = 0;
  for_each_free_segment(journal_dir, [&](Fd& fd, const fs::path&) {
    std::optional<JournalHeader> h = read_header(fd.get());
    if (!h || h->boot == boot) return false;
    restored += replay(*h, read_records(fd.get(), *h));  // throws: the next recovery tries again
    write_header(fd.get(), JournalHeader{boot, h->epoch + 1, 0});
    return false;
  });
  return restored;
}

std::size_t JournalSegment::framed_size(std::size_t payload_bytes) { return kRecordFixed + payload_bytes; }

bool JournalSegment::has_room(std::size_t framed_bytes) const { return framed_bytes <= kJournalSegmentBytes - tail_; }

void JournalSegment::append(const std::vector<std::string_view>& payloads) {
  std::string out;
  std::size_t n = 0;
  for (std::string_view p : payloads) n += framed_size(p.size());
  out.reserve(n);
  for (std::string_view p : payloads) {
    std::size_t start = out.size();
    put<std::uint32_t>(out, static_cast<std::uint32_t>(framed_size(p.size())));
    put<std::uint32_t>(out, 0);  // the crc, below
    put<std::uint64_t>(out, header_.epoch);
    out.append(p);
    std::uint32_t crc = crc32(out.data() + start + 8, out.size() - start - 8);
    std::memcpy(out.data() + start + 4, &crc, 4);
  }
  if (!pwrite_all(fd_.get(), out.data(), out.size(), static_cast<off_t>(tail_))) fail_errno("write", path_);
  if (::fdatasync(fd_.get()) < 0) fail_errno("sync", path_);
  tail_ += out.size();
}

void JournalSegment::rewind(std::int64_t checkpoint_ns) {
  JournalHeader next = header_;
  next.epoch++;
  next.checkpoint_ns = checkpoint_ns;
  write_header(fd_.get(), next);
  header_ = next;
  tail_ = kJournalHeaderBytes;
}

}  // namespace suz
