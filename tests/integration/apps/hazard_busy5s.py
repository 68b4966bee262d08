"""Fork hazard: a thread that busy-loops for 5 s, started at import."""
import hazards

hazards.start("busy5s")
application = hazards.application
asgi_application = hazards.asgi_application
