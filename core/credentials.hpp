#pragma once
// The user a vassal runs as: `[vassal] uid` and `gid` (names or numbers), or
// a file's owner (the emperor's --tyrant mode).
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace suz {

struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups of the user
  std::string label;          // "www-data (33:33)", for messages
};

// From a user and group as written in a vassal file: a name or a number; an
// empty group means the user's primary group. nullopt when both are empty.
Result<std::optional<Credentials>> resolve_credentials(const std::string& user, const std::string& group);
// A file owner's.
Credentials credentials_of_owner(uid_t uid, gid_t gid);

// Why this process may not become them (it is neither root nor them), or
// nullopt when it may.
std::optional<std::string> cannot_become(const Credentials& c);

// setgroups, setgid, setuid (in that order; then the process cannot get
// root back). Throws std::system_error.
void become(const Credentials& c);

}  // namespace suz
