#pragma once
// Turning the current Python exception into text for logs and errors.
// Requires the GIL.
#include <stdexcept>
#include <string>

namespace suz::python {

// The current exception with its traceback, as Python prints it; clears it.
// Returns "" when no exception is set.
std::string take_traceback();

// Raised from C++ when a Python call failed; what() holds the traceback.
class PythonError : public std::runtime_error {
 public:
  explicit PythonError(const std::string& context) : std::runtime_error(context + "\n" + take_traceback()) {}
};

}  // namespace suz::python
