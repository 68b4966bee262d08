#pragma once
// The vassal's job handler ([spooler] handler): a Python callable in the main
// interpreter, imported in the master so every spooler shares it
// copy-on-write, and called with a suzerain.Job for each job.
#include <string>

#include "plugins/python/gil.hpp"
#include "vassal/app.hpp"

namespace suz::python {

class JobHandler {
 public:
  // Imports the handler; GIL held. Throws PythonError.
  explicit JobHandler(const std::string& spec);

  // Calls it with the job; GIL held. An exception is a failed run (its
  // traceback the error); suzerain.Retry is a retry asked for (its reason
  // the error, its `after` the delay).
  JobOutcome run(const Job& job);

 private:
  std::string spec_;
  Ref callable_;
  Ref job_type_;    // suzerain.Job
  Ref retry_type_;  // suzerain.Retry
};

}  // namespace suz::python
