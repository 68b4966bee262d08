#!/usr/bin/env bash
# One libev callback idiom in the product: ev++.h watchers with member
# callbacks (w.set<Class, &Class::method>(this)), which stop themselves when
# destroyed. Not C watchers with hand-set .data and friend callback structs.
# (The patterns are split so this file does not match itself.)
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "not a git checkout: skipped"; exit 0
fi
hits=$(git grep -nE "ev_""(io|timer|signal|child|async|idle|periodic|stat|prepare|check)_init\(|ev_""init\(|struct [A-Za-z]+""Callbacks" \
  -- core emperor vassal spooler plugins || true)
if [[ -n "$hits" ]]; then
  echo "C libev watchers where ev++.h member callbacks are the idiom:"; echo "$hits"; exit 1
fi
echo "every libev watcher in core, emperor, vassal, spooler, plugins is an ev++.h one"
