"""Wiring of the Raspberry Pi Pico 2 (RP2350): the same pins as the Pico; a longer watchdog allowed.

See boards/pico.py for the wiring table; the Pico 2 has the same pinout, VBUS sense on GP24 and
VSYS/3 on GP29.
"""
from pico import *  # noqa: F401,F403  (deployed as board.py together with pico.py)

NAME = "pico2"
