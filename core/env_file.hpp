#pragma once
// An env file, as `[vassal] env_file` names it (the format docker, systemd's
// EnvironmentFile and python-dotenv share):
//
//   # a comment, and blank lines
//   KEY=value                 trimmed; " #" starts a comment
//   export KEY=value          "export " is allowed and ignored
//   KEY='literal value'       nothing in single quotes is special
//   KEY="a \"quoted\"\nvalue" \n \t \" \\ in double quotes
//
// Values are never logged: a problem names the file, the line and the key.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/result.hpp"

namespace suz {

using EnvVars = std::vector<std::pair<std::string, std::string>>;

// A name the environment can hold and a shell can set: [A-Za-z_][A-Za-z0-9_]*.
bool is_env_name(std::string_view name);

// Names the vassal's own machinery sets (the emperor's channel, socket
// activation, sd_notify): an app's environment may not.
bool is_reserved_env_name(std::string_view name);
inline constexpr const char* kReservedEnvName = "reserved: the emperor, systemd or the vassal sets it";

// The variables of an env file, in order, or every problem in it.
Result<EnvVars, std::vector<ConfigIssue>> parse_env_file(std::string_view text, const std::string& file);

}  // namespace suz
