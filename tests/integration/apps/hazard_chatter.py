"""Fork hazard: a thread that works and prints in turn, started at import."""
import hazards

hazards.start("chatter")
application = hazards.application
