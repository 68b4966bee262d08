"""Isolated test app a (see isolated_common)."""
from isolated_common import make_app

application = make_app("a")
