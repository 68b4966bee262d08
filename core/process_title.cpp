#include "core/process_title.hpp"

#include <sys/prctl.h>

#include <cstdlib>
#include <cstring>

extern char** environ;

namespace suz {
namespace {

char* area_start = nullptr;
std::size_t area_size = 0;
// The moved environment's strings, held for the life of the process: glibc
// edits `environ` in place (unsetenv) or replaces it (setenv), so the array
// handed to it cannot be what keeps them.
char** held_environ = nullptr;
// The array first handed to glibc, held too: a setenv (the app's [env])
// replaces it with glibc's own and drops it.
char** first_environ = nullptr;

}  // namespace

void init_process_title(int argc, char** argv) {
  if (argc == 0 || !argv[0]) return;
  // The strings of argv and environ lie end to end; find where they stop.
  char* end = argv[0] + std::strlen(argv[0]) + 1;
  for (int i = 1; i < argc; ++i)
    if (argv[i] == end) end = argv[i] + std::strlen(argv[i]) + 1;
  int env_count = 0;
  while (environ[env_count]) ++env_count;
  bool env_follows = env_count > 0 && environ[0] == end;
  if (env_follows) {
    for (int i = 0; i < env_count; ++i)
      if (environ[i] == end) end = environ[i] + std::strlen(environ[i]) + 1;
    // Move environ out of the way so getenv keeps working.
    std::size_t bytes = sizeof(char*) * static_cast<std::size_t>(env_count + 1);
    held_environ = static_cast<char**>(std::malloc(bytes));
    for (int i = 0; i < env_count; ++i) held_environ[i] = strdup(environ[i]);
    held_environ[env_count] = nullptr;
    environ = first_environ = static_cast<char**>(std::malloc(bytes));
    std::memcpy(environ, held_environ, bytes);
  }
  area_start = argv[0];
  area_size = static_cast<std::size_t>(end - argv[0]);
}

void set_process_title(const std::string& title) {
  ::prctl(PR_SET_NAME, title.substr(0, 15).c_str());
  if (!area_start || area_size < 2) return;
  std::size_t n = std::min(title.size(), area_size - 1);
  std::memcpy(area_start, title.data(), n);
  std::memset(area_start + n, 0, area_size - n);
}

}  // namespace suz
