#!/usr/bin/env bash
# One function forks: `git grep -n 'fork()'` must find core/fork.cpp only.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "not a git checkout: skipped"; exit 0
fi
hits=$(git grep -n 'fork()' -- . || true)
others=$(grep -v '^core/fork\.cpp:' <<<"$hits" || true)
if [[ -n "$others" ]]; then
  echo "fork() called outside core/fork.cpp:"; echo "$others"; exit 1
fi
count=$(grep -c '^core/fork\.cpp:' <<<"$hits" || true)
if [[ "$count" != 1 ]]; then
  echo "expected exactly one fork() in core/fork.cpp, found $count"; exit 1
fi
echo "single fork site: $hits"
