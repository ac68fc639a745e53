"""Wiring of the Raspberry Pi Pico W: the Pico's pins, but VBUS sense is on the wireless chip.

See boards/pico.py for the wiring table. On the Pico W, VBUS sense is WL_GPIO2 and GP29 (VSYS/3)
is shared with the wireless chip's SPI clock, so the battery is read only when the radio is off
(this firmware never turns it on).
"""
from machine import Pin

import pico
from pico import *  # noqa: F401,F403  (deployed as board.py together with pico.py)

NAME = "pico_w"
_vbus_w = Pin("WL_GPIO2", Pin.IN)


def on_usb():
    return _vbus_w.value() == 1


def battery():
    if on_usb():
        return None, True
    Pin(25, Pin.OUT).value(1)  # route GP29 to the ADC (wireless SPI deselected)
    volts = pico._vsys.read_u16() * 3 * 3.3 / 65535
    pct = int((volts - 3.3) * 100 / 0.9)
    return max(0, min(100, pct)), False


def watchdog():
    if on_usb():
        return None
    from machine import WDT
    return WDT(timeout=pico.WATCHDOG_MS)
