#!/usr/bin/env bash
# No value from a config file, a job or a request is ever handed to a shell:
# the programs start other programs only by exec with an argument vector
# (Boost.Process with explicit arguments), never system(), popen() or
# "sh -c". Grep the programs' sources (not tests or benchmarks) for those.
# (The patterns are split so this file does not match itself.)
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "not a git checkout: skipped"; exit 0
fi
hits=$(git grep -nE '\b(std::)?(system|popen|execl|execlp)\(|"/bin/'"sh"'"|"sh", *"-c"|bp::shell|boost::process::shell' \
       -- core vassal emperor spooler plugins || true)
if [[ -n "$hits" ]]; then
  echo "a shell (or a shell-like exec) is used by the programs:"; echo "$hits"; exit 1
fi
echo "no shell in core/ vassal/ emperor/ spooler/ plugins/"
