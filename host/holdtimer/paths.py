"""Where holdtimer keeps its data: $HOLDTIMER_HOME, or the platform's user data directory."""
import os


def data_dir():
    d = os.environ.get("HOLDTIMER_HOME")
    if not d:
        import platformdirs

        d = platformdirs.user_data_dir("holdtimer")
    os.makedirs(d, exist_ok=True)
    return d
