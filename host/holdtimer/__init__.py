"""holdtimer: the PC side of the wearable hold-timer (validate, show, sync, pull, review, sim)."""
__version__ = "0.1.0"
