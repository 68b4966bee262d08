#!/usr/bin/env bash
# One function forks: grepping the tree for the fork call must find
# core/fork.cpp and nothing else. The one documented exception is the
# fork+exec of a master through Boost.Process (core/master_launch.cpp), by
# the emperor and by a master reloading on HUP: the child makes only
# async-signal-safe calls and execs, so no lock the parent's threads held
# matters to it; no other file may start a process that way. (The patterns are split so this file does not match itself.)
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "not a git checkout: skipped"; exit 0
fi
pattern="fork""()"
hits=$(git grep -n "$pattern" -- . || true)
others=$(grep -v '^core/fork\.cpp:' <<<"$hits" || true)
if [[ -n "$others" ]]; then
  echo "the fork call appears outside core/fork.cpp:"; echo "$others"; exit 1
fi
count=$(grep -c '^core/fork\.cpp:' <<<"$hits" || true)
if [[ "$count" != 1 ]]; then
  echo "expected exactly one fork call in core/fork.cpp, found $count"; exit 1
fi
launchers=$(git grep -nE "bp::""child|boost::process::""child" -- core vassal emperor spooler plugins || true)
others=$(grep -v '^core/master_launch\.cpp:' <<<"$launchers" || true)
if [[ -n "$others" ]]; then
  echo "a process started through Boost.Process outside core/master_launch.cpp:"; echo "$others"; exit 1
fi
echo "single fork site: $hits"
