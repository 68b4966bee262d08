"""An app whose import fails: the vassal must say why and exit non-zero."""
import this_module_does_not_exist  # noqa: F401

application = None
