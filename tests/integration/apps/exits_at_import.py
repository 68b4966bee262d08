"""An app whose import ends the vassal's master at once (os._exit): no
traceback and no cleanup, as a C extension calling exit() would."""
import os

os._exit(3)
