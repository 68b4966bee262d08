"""Every fork hazard at once, eight threads: the stress test's master."""
import hazards

for kind in ("busy", "print", "logging", "import", "lock", "print", "logging", "import"):
    hazards.start(kind)
application = hazards.application
