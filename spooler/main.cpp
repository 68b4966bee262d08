// spooler: enqueue and inspect the jobs of a spool directory from the shell.
//   spooler push DIR key=value... [--body FILE|-] [--at TIME] [--priority N]
//   spooler push DIR --jobs FILE|- [key=value...]     (JSON lines, one job each)
//   spooler ls DIR [--failed|--claimed] [--json]
//   spooler show DIR ID
//   spooler retry DIR ID | --all-failed
//   spooler rm DIR ID
//   spooler stats DIR [--json]
#include <CLI/CLI.hpp>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/exit_code.hpp"
#include "core/units.hpp"
#include "core/version.hpp"
#include "core/redis_url.hpp"
#include "spooler/job_queue.hpp"

namespace fs = std::filesystem;
using suz::JobQueue;
using suz::ExitCode;
using suz::JobState;

namespace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "2026-11-22T10:00:00" (local time), "+30s"/"+5m" (from now), or epoch seconds.
std::int64_t parse_at(const std::string& text) {
  if (text.starts_with("+")) {
    auto d = suz::parse_duration(text.substr(1));
    if (!d) throw UsageError("--at " + text + ": " + d.error());
    return suz::wall_clock_ms() + d->count();
  }
  if (text.find_first_not_of("0123456789") == std::string::npos && !text.empty())
    return std::stoll(text) * 1000;
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end || *end) throw UsageError("--at " + text + ": expected 2026-11-22T10:00:00, +30s, or epoch seconds");
  tm.tm_isdst = -1;
  return static_cast<std::int64_t>(std::mktime(&tm)) * 1000;
}

std::string format_time(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

std::string_view state_name(JobState s) {
  switch (s) {
    case JobState::kQueued: return "queued";
    case JobState::kClaimed: return "running";
    case JobState::kFailed: return "failed";
  }
  return "?";
}

// A spool directory that must exist (the command line never creates one by
// accident from a typo).
// A directory that must already be a spool (unless create), or a Redis URL.
std::unique_ptr<JobQueue> open_spool(const std::string& dir, bool create = false) {
  if (!suz::looks_like_redis_url(dir) && !create) {
    if (!fs::is_directory(dir)) throw UsageError(dir + ": no such spool directory");
    if (!fs::is_directory(fs::path(dir) / "queue"))
      throw UsageError(dir + ": not a spool directory (no queue/ in it)");
  }
  std::unique_ptr<JobQueue> q;
  try {
    q = suz::open_queue(dir);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  q->on_corrupt = [](const std::string& where, const std::string& why) {
    std::cerr << "spooler: " << where << ": " << why << " (moved aside)\n";
  };
  return q;
}

int push(const std::string& dir, const std::vector<std::string>& pairs, const std::string& body_from,
         const std::string& at, int priority, bool create) {
  suz::JobSpec spec;
  for (const std::string& kv : pairs) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("argument \"" + kv + "\": expected key=value");
    spec.args[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (body_from == "-") {
    spec.body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else if (!body_from.empty()) {
    std::ifstream in(body_from, std::ios::binary);
    if (!in) throw UsageError("--body " + body_from + ": cannot read it");
    spec.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (!at.empty()) spec.at_ms = parse_at(at);
  spec.priority = priority;
  if (priority < suz::kMinPriority || priority > suz::kMaxPriority)
    throw UsageError("--priority " + std::to_string(priority) + ": out of range -999..999");
  auto q = open_spool(dir, create);
  std::cout << q->push(spec) << "\n";
  return 0;
}

// One job per line: {"args": {"k": "v"}, "body": "text", "priority": 5, "at": "+10m"}.
// Every key is optional; ARGS given on the command line go into every job
// (a line's own args win). All the jobs become visible together, after one
// flush; the ids are printed in order.
int push_jobs(const std::string& dir, const std::string& from, const std::vector<std::string>& pairs, bool create) {
  std::map<std::string, std::string> common;
  for (const std::string& kv : pairs) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("argument \"" + kv + "\": expected key=value");
    common[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  std::ifstream file;
  if (from != "-") {
    file.open(from);
    if (!file) throw UsageError("--jobs " + from + ": cannot read it");
  }
  std::istream& in = from == "-" ? std::cin : file;
  std::string name = from == "-" ? "stdin" : from;
  std::vector<suz::JobSpec> specs;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto where = [&] { return name + ":" + std::to_string(line_no) + ": "; };
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw UsageError(where() + "not a JSON object");
    suz::JobSpec spec;
    spec.args = common;
    try {
      const nlohmann::json args = j.value("args", nlohmann::json::object());
      if (!args.is_object()) throw UsageError(where() + "args: expected an object of strings");
      for (const auto& [k, v] : args.items()) {
        if (!v.is_string()) throw UsageError(where() + "args." + k + ": expected a string");
        spec.args[k] = v.get<std::string>();
      }
      spec.body = j.value("body", std::string());
      spec.priority = j.value("priority", 0);
      if (j.contains("at")) spec.at_ms = parse_at(j["at"].is_string() ? j["at"].get<std::string>() : j["at"].dump());
    } catch (const nlohmann::json::exception& e) {
      throw UsageError(where() + e.what());
    }
    if (spec.priority < suz::kMinPriority || spec.priority > suz::kMaxPriority)
      throw UsageError(where() + "priority " + std::to_string(spec.priority) + ": out of range -999..999");
    for (const auto& key : j.items())
      if (key.key() != "args" && key.key() != "body" && key.key() != "priority" && key.key() != "at")
        throw UsageError(where() + "unknown key \"" + key.key() + "\" (expected args, body, priority, at)");
    specs.push_back(std::move(spec));
  }
  auto q = open_spool(dir, create);
  std::string out;
  for (const std::string& id : q->push_all(specs)) out += id + "\n";
  std::cout << out;
  return 0;
}

nlohmann::json entry_json(const suz::JobEntry& e) {
  return {{"id", e.name.id},         {"state", state_name(e.state)}, {"priority", e.name.priority},
          {"at_ms", e.name.at_ms},   {"attempt", e.name.attempt},    {"owner", e.owner},
          {"path", e.path.string()}};
}

int ls(const std::string& dir, bool failed, bool claimed, bool json) {
  auto q = open_spool(dir);
  auto entries = q->list(failed ? JobState::kFailed : claimed ? JobState::kClaimed : JobState::kQueued);
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : entries) out.push_back(entry_json(e));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("%-36s %-8s %8s %-19s %7s\n", "ID", "STATE", "PRIORITY", "NOT BEFORE", "ATTEMPT");
  for (const auto& e : entries)
    std::printf("%-36s %-8s %8d %-19s %7d\n", e.name.id.c_str(), std::string(state_name(e.state)).c_str(),
                e.name.priority, format_time(e.name.at_ms).c_str(), e.name.attempt);
  return 0;
}

int show(const std::string& dir, const std::string& id) {
  auto q = open_spool(dir);
  auto e = q->find(id);
  if (!e) throw UsageError(dir + ": no job " + id);
  auto job = q->read(*e);
  if (!job) throw std::runtime_error((e->path.empty() ? dir + " job " + id : e->path.string()) + ": " + job.error());
  nlohmann::json out = entry_json(*e);
  out["args"] = job->args;
  out["created"] = format_time(job->created_ms);
  out["body_bytes"] = job->body.size();
  out["last_error"] = job->last_error;
  if (auto note = q->failure(*e)) out["error"] = *note;
  std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

int retry(const std::string& dir, const std::string& id, bool all_failed) {
  auto q = open_spool(dir);
  if (all_failed) {
    int n = 0;
    for (const auto& e : q->list(JobState::kFailed)) n += q->requeue_failed(e.name.id);
    std::cout << n << " job(s) requeued\n";
    return 0;
  }
  if (id.empty()) throw UsageError("retry: an ID or --all-failed");
  if (!q->requeue_failed(id)) throw UsageError(dir + ": no failed job " + id);
  return 0;
}

int rm(const std::string& dir, const std::string& id) {
  auto q = open_spool(dir);
  if (!q->remove(id)) throw UsageError(dir + ": no job " + id);
  return 0;
}

int stats(const std::string& dir, bool json) {
  auto q = open_spool(dir);
  auto waiting = q->list(JobState::kQueued);  // also says how many are due
  std::size_t queued = waiting.size(), running = q->count(JobState::kClaimed), failed = q->count(JobState::kFailed);
  std::int64_t now = suz::wall_clock_ms();
  std::size_t due = 0;
  for (const auto& e : waiting) due += e.name.at_ms <= now;
  if (json) {
    std::cout << nlohmann::json{{"queued", queued}, {"due", due}, {"running", running}, {"failed", failed}}.dump()
              << "\n";
  } else {
    std::cout << "queued " << queued << " (due " << due << ")\nrunning " << running << "\nfailed " << failed << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Enqueues and inspects the jobs of a Suzerain spool: a directory or a Redis queue ([spooler] dir of a vassal)."};
  cli.set_version_flag("-V,--version", std::string("spooler (suzerain) ") + suz::kVersion);
  cli.require_subcommand(1);
  std::string dir, id, body, at, jobs_from;
  std::vector<std::string> pairs;
  int priority = 0;
  bool json = false, failed = false, claimed = false, all_failed = false, create = false;

  auto* p = cli.add_subcommand("push", "Enqueue a job; prints its id");
  p->add_option("DIR", dir, "Spool directory, or redis://host:port/db/queue")->required();
  p->add_option("ARGS", pairs, "Job arguments, key=value");
  p->add_option("--body", body, "The job's body from FILE, or - for stdin");
  p->add_option("--at", at, "Not before: 2026-11-22T10:00:00 (local), +30s, or epoch seconds");
  p->add_option("--priority", priority, "-999..999; higher runs first")->capture_default_str();
  auto* jobs_opt = p->add_option("--jobs", jobs_from,
                                 "Many jobs from FILE (or - for stdin), one JSON object per line: "
                                 "{\"args\": {...}, \"body\": \"...\", \"priority\": 0, \"at\": \"+10m\"}; "
                                 "ARGS go into every job");
  jobs_opt->excludes(p->get_option("--body"))->excludes(p->get_option("--at"))->excludes(p->get_option("--priority"));
  p->add_flag("--create", create, "Create DIR if it does not exist");
  auto* l = cli.add_subcommand("ls", "List queued jobs (or --failed, --running)");
  l->add_option("DIR", dir, "Spool directory, or redis://host:port/db/queue")->required();
  l->add_flag("--failed", failed, "Jobs that used up their attempts");
  l->add_flag("--running", claimed, "Jobs a spooler is running");
  l->add_flag("--json", json, "As JSON");
  auto* s = cli.add_subcommand("show", "Show one job: arguments, attempts, last error");
  s->add_option("DIR", dir, "Spool directory, or redis://host:port/db/queue")->required();
  s->add_option("ID", id, "Job id")->required();
  auto* r = cli.add_subcommand("retry", "Requeue a failed job (attempts reset), or --all-failed");
  r->add_option("DIR", dir, "Spool directory, or redis://host:port/db/queue")->required();
  r->add_option("ID", id, "Job id");
  r->add_flag("--all-failed", all_failed, "Every failed job");
  auto* m = cli.add_subcommand("rm", "Remove a job");
  m->add_option("DIR", dir, "Spool directory, or redis://host:port/db/queue")->required();
  m->add_option("ID", id, "Job id")->required();
  auto* st = cli.add_subcommand("stats", "Count jobs: queued (and due), running, failed");
  st->add_option("DIR", dir, "Spool directory, or redis://host:port/db/queue")->required();
  st->add_flag("--json", json, "As JSON");
  cli.footer("Example: spooler push /var/spool/shop to=a@example.com template=welcome --priority 5");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : suz::to_int(ExitCode::kUsage);
  }
  try {
    if (p->parsed() && !jobs_from.empty()) return push_jobs(dir, jobs_from, pairs, create);
    if (p->parsed()) return push(dir, pairs, body, at, priority, create);
    if (l->parsed()) return ls(dir, failed, claimed, json);
    if (s->parsed()) return show(dir, id);
    if (r->parsed()) return retry(dir, id, all_failed);
    if (m->parsed()) return rm(dir, id);
    if (st->parsed()) return stats(dir, json);
  } catch (const UsageError& e) {
    std::cerr << "spooler: " << e.what() << "\n";
    return suz::to_int(ExitCode::kUsage);
  } catch (const std::exception& e) {
    std::cerr << "spooler: " << e.what() << "\n";
    return suz::to_int(ExitCode::kFailure);
  }
  return suz::to_int(ExitCode::kUsage);
}
