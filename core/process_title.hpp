#pragma once
// What `ps` shows for this process: "vassal hello: worker 3". The title is
// written over the memory of argv (and of environ, moved to the heap first),
// as nginx and PostgreSQL do; /proc/PID/comm gets its first 15 characters.
#include <string>

namespace suz {

// First thing in main(): claims argv's memory. argv[i] pointers stay valid
// until set_process_title() is called; copy what you need before that.
void init_process_title(int argc, char** argv);

void set_process_title(const std::string& title);

}  // namespace suz
