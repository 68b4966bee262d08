#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "vassal/stats.hpp"

namespace suz {

std::string_view cause_name(RespawnCause cause) {
  switch (cause) {
    case RespawnCause::kLifetime: return "lifetime";
    case RespawnCause::kMaxRequests: return "max_requests";
    case RespawnCause::kMaxRss: return "max_rss";
    case RespawnCause::kHarakiri: return "harakiri";
    case RespawnCause::kNoHeartbeat: return "no_heartbeat";
    case RespawnCause::kNotReady: return "not_ready";
    case RespawnCause::kDied: return "died";
    case RespawnCause::kReload: return "reload";
    case RespawnCause::kCount: break;
  }
  return "unknown";
}

namespace {

constexpr int kCauses = static_cast<int>(RespawnCause::kCount);

// Prometheus label values escape backslash, double quote and newline.
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

using json = nlohmann::ordered_json;

json respawns_json(const RespawnCounts& counts) {
  json respawns = json::object();
  for (int c = 0; c < kCauses; ++c) respawns[std::string(cause_name(static_cast<RespawnCause>(c)))] = counts[c];
  return respawns;
}

json spooler_json(const SpoolerSnapshot& s) {
  json processes = json::array();
  for (const WorkerSnapshot& p : s.processes) {
    json job = nullptr;
    if (!p.busy.empty()) job = {{"job", p.busy[0].request}, {"running_seconds", p.busy[0].running_seconds}};
    json process = {{"id", p.id},           {"pid", p.pid},
                    {"generation", p.generation}, {"state", p.state},
                    {"jobs", p.requests},   {"age_seconds", p.age_seconds},
                    {"retires_in_seconds", nullptr}, {"running", job}};
    if (p.retires_in_seconds) process["retires_in_seconds"] = *p.retires_in_seconds;
    processes.push_back(std::move(process));
  }
  return {{"dir", s.dir},
          {"processes_wanted", s.processes_wanted},
          {"jobs", s.jobs},
          {"recovered", s.recovered},
          {"queued", s.queued},
          {"failed", s.failed},
          {"respawns", respawns_json(s.respawns)},
          {"processes", processes}};
}

json traffic_json(const RequestTotals& t) {
  json buckets = json::array();
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < t.buckets.size(); ++i) {
    below += t.buckets[i];
    json le = i < kDurationBuckets.size() ? json(kDurationBuckets[i]) : json("+Inf");
    buckets.push_back({{"le", le}, {"count", below}});
  }
  json responses = json::object();
  for (std::size_t i = 0; i < t.responses.size(); ++i)
    if (t.responses[i]) responses[std::to_string(kFirstStatus + static_cast<int>(i))] = t.responses[i];
  return {{"responses", responses},
          {"request_duration_seconds",
           {{"count", t.count()}, {"sum", static_cast<double>(t.duration_ns) / 1e9}, {"buckets", buckets}}}};
}

}  // namespace

std::string stats_json(const VassalSnapshot& s) {
  json workers = json::array();
  for (const WorkerSnapshot& w : s.workers) {
    json busy = json::array();
    for (const ThreadSnapshot& t : w.busy)
      busy.push_back({{"thread", t.thread}, {"request", t.request}, {"running_seconds", t.running_seconds}});
    json worker = {{"id", w.id},
                   {"pid", w.pid},
                   {"generation", w.generation},
                   {"state", w.state},
                   {"requests", w.requests},
                   {"age_seconds", w.age_seconds},
                   {"retires_in_seconds", nullptr},
                   {"busy_threads", busy}};
    if (w.retires_in_seconds) worker["retires_in_seconds"] = *w.retires_in_seconds;
    workers.push_back(std::move(worker));
  }
  json doc = {{"vassal", s.vassal},
              {"master_pid", s.master_pid},
              {"uptime_seconds", s.uptime_seconds},
              {"workers_wanted", s.workers_wanted},
              {"threads_per_worker", s.threads},
              {"requests", s.requests},
              {"respawns", respawns_json(s.respawns)},
              {"workers", workers}};
  json traffic = traffic_json(s.traffic);
  doc["responses"] = traffic["responses"];
  doc["request_duration_seconds"] = traffic["request_duration_seconds"];
  if (s.spooler) doc["spooler"] = spooler_json(*s.spooler);
  // Replace, not throw, on bytes a request line may carry that are not UTF-8.
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string stats_prometheus(const VassalSnapshot& s) {
  std::string v = label(s.vassal);
  std::string out;
  auto metric = [&](std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  metric("suzerain_requests_total", "counter", "Requests served by every worker of this vassal, retired ones too.");
  out += fmt::format("suzerain_requests_total{{vassal=\"{}\"}} {}\n", v, s.requests);
  metric("suzerain_request_duration_seconds", "histogram",
         "Time from a request's first byte to its response's last byte sent, every worker of this vassal.");
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < s.traffic.buckets.size(); ++i) {
    below += s.traffic.buckets[i];
    std::string le = i < kDurationBuckets.size() ? fmt::format("{}", kDurationBuckets[i]) : "+Inf";
    out += fmt::format("suzerain_request_duration_seconds_bucket{{vassal=\"{}\",le=\"{}\"}} {}\n", v, le, below);
  }
  out += fmt::format("suzerain_request_duration_seconds_sum{{vassal=\"{}\"}} {:.6f}\n", v,
                     static_cast<double>(s.traffic.duration_ns) / 1e9);
  out += fmt::format("suzerain_request_duration_seconds_count{{vassal=\"{}\"}} {}\n", v, below);
  metric("suzerain_responses_total", "counter", "Responses by status code, the server's own (400, 408, 413 ...) included.");
  for (std::size_t i = 0; i < s.traffic.responses.size(); ++i)
    if (s.traffic.responses[i])
      out += fmt::format("suzerain_responses_total{{vassal=\"{}\",code=\"{}\"}} {}\n", v,
                         kFirstStatus + static_cast<int>(i), s.traffic.responses[i]);
  metric("suzerain_worker_respawns_total", "counter", "Workers replaced, by cause.");
  for (int c = 0; c < kCauses; ++c)
    out += fmt::format("suzerain_worker_respawns_total{{vassal=\"{}\",cause=\"{}\"}} {}\n", v,
                       cause_name(static_cast<RespawnCause>(c)), s.respawns[c]);
  metric("suzerain_workers_wanted", "gauge", "Worker slots the master keeps filled.");
  out += fmt::format("suzerain_workers_wanted{{vassal=\"{}\"}} {}\n", v, s.workers_wanted);
  metric("suzerain_uptime_seconds", "gauge", "Seconds since the master started.");
  out += fmt::format("suzerain_uptime_seconds{{vassal=\"{}\"}} {:.3f}\n", v, s.uptime_seconds);

  auto per_worker = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    metric(name, type, help);
    for (const WorkerSnapshot& w : s.workers)
      out += fmt::format("{}{{vassal=\"{}\",worker=\"{}\",pid=\"{}\",generation=\"{}\",state=\"{}\"}} {}\n", name, v,
                         w.id, w.pid, w.generation, w.state, value(w));
  };
  per_worker("suzerain_worker_requests", "gauge", "Requests served by this worker process.",
             [](const WorkerSnapshot& w) { return std::to_string(w.requests); });
  per_worker("suzerain_worker_age_seconds", "gauge", "Seconds since this worker process was forked.",
             [](const WorkerSnapshot& w) { return fmt::format("{:.3f}", w.age_seconds); });
  per_worker("suzerain_worker_busy_threads", "gauge", "Threads of this worker inside a request.",
             [](const WorkerSnapshot& w) { return std::to_string(w.busy.size()); });
  per_worker("suzerain_worker_retires_in_seconds", "gauge",
             "Seconds until max_worker_lifetime retires this worker (NaN: no lifetime limit).",
             [](const WorkerSnapshot& w) {
               return w.retires_in_seconds ? fmt::format("{:.3f}", *w.retires_in_seconds) : std::string("NaN");
             });
  if (!s.spooler) return out;
  const SpoolerSnapshot& sp = *s.spooler;
  metric("suzerain_spooler_jobs_total", "counter", "Jobs run to an end (done, retried or failed) by this vassal's spoolers.");
  out += fmt::format("suzerain_spooler_jobs_total{{vassal=\"{}\"}} {}\n", v, sp.jobs);
  metric("suzerain_spooler_jobs_recovered_total", "counter", "Jobs returned to the queue after their spooler died.");
  out += fmt::format("suzerain_spooler_jobs_recovered_total{{vassal=\"{}\"}} {}\n", v, sp.recovered);
  metric("suzerain_spool_jobs", "gauge", "Jobs in the spool, by state.");
  out += fmt::format("suzerain_spool_jobs{{vassal=\"{}\",state=\"queued\"}} {}\n", v, sp.queued);
  out += fmt::format("suzerain_spool_jobs{{vassal=\"{}\",state=\"failed\"}} {}\n", v, sp.failed);
  metric("suzerain_spooler_respawns_total", "counter", "Spooler processes replaced, by cause.");
  for (int c = 0; c < kCauses; ++c)
    out += fmt::format("suzerain_spooler_respawns_total{{vassal=\"{}\",cause=\"{}\"}} {}\n", v,
                       cause_name(static_cast<RespawnCause>(c)), sp.respawns[c]);
  metric("suzerain_spooler_jobs", "gauge", "Jobs run by this spooler process.");
  for (const WorkerSnapshot& p : sp.processes)
    out += fmt::format("suzerain_spooler_jobs{{vassal=\"{}\",spooler=\"{}\",pid=\"{}\",generation=\"{}\",state=\"{}\"}} {}\n", v,
                       p.id, p.pid, p.generation, p.state, p.requests);
  return out;
}

Readiness readiness(const VassalSnapshot& s) {
  if (s.stopping) return {503, "stopping"};
  std::set<int> serving;
  for (const WorkerSnapshot& w : s.workers)
    if (w.state == "serving") serving.insert(w.id);
  if (static_cast<int>(serving.size()) >= s.workers_wanted) return {};
  std::string count = std::to_string(serving.size()) + " of " + std::to_string(s.workers_wanted) + " workers serving";
  // Before any worker served: starting; after: a worker was lost and its
  // replacement is not serving yet.
  bool ever = s.requests > 0 || std::any_of(s.respawns.begin(), s.respawns.end(), [](std::uint64_t n) { return n > 0; });
  return {503, (ever ? "short of capacity: " : "starting: ") + count};
}

}  // namespace suz
