#include "core/credentials.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <system_error>

namespace suz {

namespace {

std::optional<unsigned long> number(const std::string& text) {
  unsigned long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::vector<gid_t> groups_of(const char* user, gid_t primary) {
  int n = 32;
  std::vector<gid_t> groups(static_cast<std::size_t>(n));
  while (::getgrouplist(user, primary, groups.data(), &n) < 0) groups.resize(static_cast<std::size_t>(n));
  groups.resize(static_cast<std::size_t>(n));
  return groups;
}

}  // namespace

Result<std::optional<Credentials>> resolve_credentials(const std::string& user, const std::string& group) {
  if (user.empty() && group.empty()) return std::optional<Credentials>();
  Credentials c;
  c.uid = ::geteuid();
  c.gid = ::getegid();
  std::string user_name;
  if (!user.empty()) {
    const passwd* pw = number(user) ? ::getpwuid(static_cast<uid_t>(*number(user))) : ::getpwnam(user.c_str());
    if (pw) {
      c.uid = pw->pw_uid;
      c.gid = pw->pw_gid;
      user_name = pw->pw_name;
    } else if (number(user)) {
      c.uid = static_cast<uid_t>(*number(user));  // a uid without a passwd entry: allowed, no groups
    } else {
      return unexpected(std::string("[vassal] uid: no user \"") + user + "\"");
    }
  }
  if (!group.empty()) {
    const struct group* gr = number(group) ? ::getgrgid(static_cast<gid_t>(*number(group))) : ::getgrnam(group.c_str());
    if (gr) c.gid = gr->gr_gid;
    else if (number(group)) c.gid = static_cast<gid_t>(*number(group));
    else return unexpected(std::string("[vassal] gid: no group \"") + group + "\"");
  }
  c.groups = user_name.empty() ? std::vector<gid_t>{c.gid} : groups_of(user_name.c_str(), c.gid);
  c.label = (user_name.empty() ? std::string("uid") : user_name) + " (" + std::to_string(c.uid) + ":" +
            std::to_string(c.gid) + ")";
  return std::optional<Credentials>(std::move(c));
}

Credentials credentials_of_owner(uid_t uid, gid_t gid) {
  Credentials c;
  c.uid = uid;
  c.gid = gid;
  const passwd* pw = ::getpwuid(uid);
  c.groups = pw ? groups_of(pw->pw_name, gid) : std::vector<gid_t>{gid};
  c.label = (pw ? std::string(pw->pw_name) : std::string("uid")) + " (" + std::to_string(uid) + ":" +
            std::to_string(gid) + ")";
  return c;
}

std::optional<std::string> cannot_become(const Credentials& c) {
  if (::geteuid() == 0) return std::nullopt;
  if (c.uid == ::geteuid() && c.gid == ::getegid()) return std::nullopt;
  return std::string("runs as " + c.label + ", but this process is uid " + std::to_string(::geteuid()) +
               ", not root: it cannot switch users");
}

void become(const Credentials& c) {
  if (::geteuid() != 0) return;  // cannot_become() said: already them
  if (::setgroups(c.groups.size(), c.groups.data()) < 0) throw std::system_error(errno, std::generic_category(), "setgroups");
  if (::setgid(c.gid) < 0) throw std::system_error(errno, std::generic_category(), "setgid");
  if (::setuid(c.uid) < 0) throw std::system_error(errno, std::generic_category(), "setuid");
}

}  // namespace suz
