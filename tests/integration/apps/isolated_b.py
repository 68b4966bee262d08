"""Isolated test app b (see isolated_common)."""
from isolated_common import make_app

application = make_app("b")
