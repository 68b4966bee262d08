// Fuzzes the spool's job file reader and file-name parser: a corrupt job is
// an error naming what is wrong (it goes to corrupt/), never a crash; a job
// that reads back is re-encoded to the same job.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "spooler/job.hpp"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // Up to the first newline: a file name; all of it: a file's contents.
  std::string_view name_text = bytes.substr(0, bytes.find('\n'));
  if (auto name = suz::JobName::parse(name_text)) {
    auto again = suz::JobName::parse(name->str());
    check(again && again->str() == name->str());
  }
  suz::JobName name;
  name.id = "fuzz";
  auto job = suz::decode_job(name, bytes);
  if (!job) {
    check(!job.error().empty());
    return 0;
  }
  auto round = suz::decode_job(name, suz::encode_job(*job));
  check(bool(round));
  check(round->args == job->args && round->body == job->body && round->created_ms == job->created_ms &&
        round->last_error == job->last_error);
  return 0;
}
