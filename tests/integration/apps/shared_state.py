"""A module both isolated apps import and write to: in one interpreter they
would see each other's value, in their own sub-interpreters they cannot."""
VALUE = None
TICKS = 0
