#pragma once
// Reading one TOML table into typed fields, collecting positioned issues.
// Internal to the config loader; kept apart so the loader reads as a list of
// keys and their rules.
#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace suz::config_detail {

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  // Past kMaxConfigIssues only counted.
  void add(const toml::source_region& where, std::string key, std::string message);
  void add(ConfigIssue issue);  // positioned by the caller (in another file: an env file)
  const std::string& file() const { return file_; }
  // Sorted by position, with a last line saying how many were dropped.
  std::vector<ConfigIssue> take_issues();
  bool empty() const { return issues_.empty(); }

  struct Found {
    ConfigIssue issue;
    std::size_t order;
  };

 private:
  std::string file_;
  std::vector<Found> issues_;  // a max-heap by position
  std::size_t found_ = 0;
};

class TableReader {
 public:
  // table may be null (section absent): every getter then keeps its default.
  // label names the table in messages: "[server]", "[[mount]] #2".
  TableReader(Diagnostics& diag, const toml::table* table, std::string label);

  void string(std::string_view key, std::string& out);
  void integer(std::string_view key, int& out, int min, int max);
  void count(std::string_view key, std::uint64_t& out);       // integer >= 0
  void duration(std::string_view key, Duration& out);          // "2s" or integer seconds
  void size(std::string_view key, std::uint64_t& out);         // "512MB" or integer bytes
  void string_or_int(std::string_view key, std::string& out);  // uid = "www-data" or 33
  void boolean(std::string_view key, bool& out);
  // An array of strings; a single string is taken as a one-element list.
  void string_list(std::string_view key, std::vector<std::string>& out);

  // Reports a problem with the value of key (which was read).
  void error(std::string_view key, std::string message);
  // Reports a missing required key at the table's header.
  void missing(std::string_view key, std::string hint);
  bool has(std::string_view key) const;

  // Reports every key no getter asked for, with a guess at what was meant.
  void finish();

 private:
  const toml::node* take(std::string_view key);
  template <class T, class FromInt, class Parse>
  void quantity(std::string_view key, T& out, FromInt from_int, Parse parse, std::string_view expected);
  void wrong_type(std::string_view key, const toml::node& node, std::string_view expected);
  // Reports a string value over kMaxConfigString.
  bool short_enough(std::string_view key, const toml::node& node, const std::string& value);
  std::string qualified(std::string_view key) const;

  Diagnostics& diag_;
  const toml::table* table_;
  std::string section_;
  std::set<std::string, std::less<>> known_;
};

// "maxrequests" -> "max_requests" when one is close enough; empty otherwise.
std::string closest(std::string_view word, const std::vector<std::string_view>& candidates);
std::string_view type_name(toml::node_type type);

}  // namespace suz::config_detail
