"""`python -m holdtimer` runs the holdtimer command."""
import sys

from holdtimer.cli import main

sys.exit(main())
