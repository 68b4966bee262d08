#include "core/config_reader.hpp"

#include <algorithm>
#include <tuple>

namespace suz::config_detail {

namespace {

// By position; at one position, in the order found.
bool earlier(const Diagnostics::Found& a, const Diagnostics::Found& b) {
  return std::tie(a.issue.line, a.issue.column, a.order) < std::tie(b.issue.line, b.issue.column, b.order);
}

}  // namespace

void Diagnostics::add(const toml::source_region& where, std::string key, std::string message) {
  add(ConfigIssue{file_, static_cast<int>(where.begin.line), static_cast<int>(where.begin.column), std::move(key),
                  std::move(message)});
}

void Diagnostics::add(ConfigIssue issue) {
  Found found{std::move(issue), found_++};
  // Issues are found section by section, not in file order: keep the first
  // kMaxConfigIssues by position in a max-heap, the last of them on top.
  if (issues_.size() == kMaxConfigIssues) {
    if (!earlier(found, issues_.front())) return;
    std::pop_heap(issues_.begin(), issues_.end(), earlier);
    issues_.back() = std::move(found);
  } else {
    issues_.push_back(std::move(found));
  }
  std::push_heap(issues_.begin(), issues_.end(), earlier);
}

std::vector<ConfigIssue> Diagnostics::take_issues() {
  std::sort_heap(issues_.begin(), issues_.end(), earlier);
  std::vector<ConfigIssue> out;
  for (Found& f : issues_) out.push_back(std::move(f.issue));
  std::size_t dropped = found_ - out.size();
  if (dropped > 0) {
    out.push_back(ConfigIssue{file_, 0, 0, "",
                              "and " + std::to_string(dropped) + " more problem" + (dropped == 1 ? "" : "s") +
                                  " (at most " + std::to_string(kMaxConfigIssues) + " are reported per file)",
                              dropped});
  }
  issues_.clear();
  found_ = 0;
  return out;
}

std::string_view type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

std::string closest(std::string_view word, const std::vector<std::string_view>& candidates) {
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diag = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        std::size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diag = up;
      }
    }
    return row[b.size()];
  };
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (std::string_view c : candidates) {
    std::size_t d = distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  return best;
}

TableReader::TableReader(Diagnostics& diag, const toml::table* table, std::string section)
    : diag_(diag), table_(table), section_(std::move(section)) {}

std::string TableReader::qualified(std::string_view key) const {
  return section_ + " " + std::string(key);
}

bool TableReader::has(std::string_view key) const { return table_ && table_->contains(key); }

const toml::node* TableReader::take(std::string_view key) {
  known_.insert(std::string(key));
  return table_ ? table_->get(key) : nullptr;
}

void TableReader::wrong_type(std::string_view key, const toml::node& node, std::string_view expected) {
  diag_.add(node.source(), qualified(key),
            "expected " + std::string(expected) + ", got " + std::string(type_name(node.type())));
}

void TableReader::error(std::string_view key, std::string message) {
  const toml::node* node = table_ ? table_->get(key) : nullptr;
  diag_.add(node ? node->source() : (table_ ? table_->source() : toml::source_region{}),
            qualified(key), std::move(message));
}

void TableReader::missing(std::string_view key, std::string hint) {
  toml::source_region where = table_ ? table_->source() : toml::source_region{};
  if (where.begin.line == 0) where.begin = {1, 1};
  diag_.add(where, qualified(key), "required key is missing (" + std::move(hint) + ")");
}

bool TableReader::short_enough(std::string_view key, const toml::node& node, const std::string& value) {
  if (value.size() <= kMaxConfigString) return true;
  diag_.add(node.source(), qualified(key),
            "a string of " + std::to_string(value.size()) + " bytes; the most a value may have is " +
                std::to_string(kMaxConfigString));
  return false;
}

void TableReader::string(std::string_view key, std::string& out) {
  const toml::node* node = take(key);
  if (!node) return;
  if (auto v = node->as_string()) {
    if (short_enough(key, *node, v->get())) out = v->get();
  } else {
    wrong_type(key, *node, "a string");
  }
}

void TableReader::boolean(std::string_view key, bool& out) {
  const toml::node* node = take(key);
  if (!node) return;
  if (auto v = node->as_boolean()) out = v->get();
  else wrong_type(key, *node, "true or false");
}

void TableReader::integer(std::string_view key, int& out, int min, int max) {
  const toml::node* node = take(key);
  if (!node) return;
  auto v = node->as_integer();
  if (!v) return wrong_type(key, *node, "an integer");
  if (v->get() < min || v->get() > max)
    return error(key, "must be from " + std::to_string(min) + " to " + std::to_string(max) +
                          ", got " + std::to_string(v->get()));
  out = static_cast<int>(v->get());
}

void TableReader::count(std::string_view key, std::uint64_t& out) {
  const toml::node* node = take(key);
  if (!node) return;
  auto v = node->as_integer();
  if (!v) return wrong_type(key, *node, "an integer");
  if (v->get() < 0) return error(key, "must not be negative, got " + std::to_string(v->get()));
  out = static_cast<std::uint64_t>(v->get());
}

// A quantity is an integer in a base unit, or a string with units.
template <class T, class FromInt, class Parse>
void TableReader::quantity(std::string_view key, T& out, FromInt from_int, Parse parse,
                           std::string_view expected) {
  const toml::node* node = take(key);
  if (!node) return;
  if (auto i = node->as_integer()) {
    if (i->get() < 0) return error(key, "must not be negative, got " + std::to_string(i->get()));
    out = from_int(i->get());
  } else if (auto s = node->as_string()) {
    auto parsed = parse(s->get());
    if (!parsed) return error(key, parsed.error());
    out = *parsed;
  } else {
    wrong_type(key, *node, expected);
  }
}

void TableReader::duration(std::string_view key, Duration& out) {
  quantity(key, out, [](std::int64_t s) { return Duration(std::chrono::seconds(s)); }, parse_duration,
           "a duration (\"500ms\", \"2s\", \"1h\" or an integer of seconds)");
}

void TableReader::size(std::string_view key, std::uint64_t& out) {
  quantity(key, out, [](std::int64_t b) { return static_cast<std::uint64_t>(b); }, parse_size,
           "a size (\"512MB\" or an integer of bytes)");
}

void TableReader::string_or_int(std::string_view key, std::string& out) {
  const toml::node* node = take(key);
  if (!node) return;
  if (auto s = node->as_string()) {
    if (short_enough(key, *node, s->get())) out = s->get();
  } else if (auto i = node->as_integer()) {
    if (i->get() < 0) return error(key, "must not be negative");
    out = std::to_string(i->get());
  } else {
    wrong_type(key, *node, "a name or a number");
  }
}

void TableReader::string_list(std::string_view key, std::vector<std::string>& out) {
  const toml::node* node = take(key);
  if (!node) return;
  if (auto s = node->as_string()) {
    if (short_enough(key, *node, s->get())) out = {s->get()};
    return;
  }
  auto arr = node->as_array();
  if (!arr) return wrong_type(key, *node, "an array of strings");
  std::vector<std::string> values;
  for (const toml::node& item : *arr) {
    auto s = item.as_string();
    if (!s) return wrong_type(key, item, "a string in the array");
    if (!short_enough(key, item, s->get())) return;
    values.push_back(s->get());
  }
  out = std::move(values);
}

void TableReader::finish() {
  if (!table_) return;
  std::vector<std::string_view> candidates(known_.begin(), known_.end());
  for (auto&& [k, v] : *table_) {
    if (known_.contains(k.str())) continue;
    std::string message = "unknown key";
    if (auto guess = closest(k.str(), candidates); !guess.empty())
      message += " (did you mean \"" + guess + "\"?)";
    diag_.add(k.source(), qualified(k.str()), std::move(message));
  }
}

}  // namespace suz::config_detail
