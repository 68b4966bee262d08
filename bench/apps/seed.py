"""The seed case of uWSGI issue 2387: the app starts a thread at import that
keeps the GIL busy and prints, so at any fork it may own the GIL or be
inside print()."""
import threading

from hello import application  # noqa: F401  (the served app)


def _chatter():
    n = 0
    while True:
        n += 1
        if n % 20000 == 0:
            print("tick", n, flush=True)


threading.Thread(target=_chatter, daemon=True).start()
