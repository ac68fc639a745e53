"""Wiring of the Raspberry Pi Pico (RP2040): builds buses and drivers, exports the board names.

Wiring table (GP = GPIO number, pin = physical pin on the Pico):
  SSD1306 OLED 128x64 I2C   SDA -> GP4 (pin 6)   SCL -> GP5 (pin 7)   VCC -> 3V3(OUT) (pin 36)   GND -> GND (pin 38)
  Push button               one leg -> GP15 (pin 20), other leg -> GND (pin 18); internal pull-up
  Vibration motor (3 V coin) via NPN (2N2222/BC337): GP16 (pin 21) -> 1 kOhm -> base; emitter -> GND;
                            collector -> motor -> VSYS (pin 39); 1N4148 flyback diode across the motor
                            (cathode to VSYS). A piezo buzzer on GP16 + GND also works.
  LiPo (optional)           via a charger/power-path board to VSYS (pin 39); VSYS/3 is read on ADC3 (GP29)
  USB power sense           GP24 (VBUS sense, internal to the Pico)
"""
import sys
import time

import ssd1306
from machine import ADC, I2C, PWM, Pin, reset, unique_id

NAME = "pico"
I2C_ID, SDA, SCL, I2C_HZ = 0, 4, 5, 400000
BUTTON_PIN, MOTOR_PIN = 15, 16
VBUS_SENSE, VSYS_ADC = 24, 29
OLED_ADDR = 0x3C
WATCHDOG_MS = 5000
POLL_MS = 20  # how often the button is sampled while nothing else is due

root = ""
serial = "".join("%02x" % b for b in unique_id())
ticks_ms = time.ticks_ms
sleep_ms = time.sleep_ms
link_in = sys.stdin.buffer
link_out = sys.stdout.buffer
trace = None  # the simulator records cues here; the real board has no use for it


class _NoPanel:
    """Stands in for the I2C bus when no OLED answers, so the device still runs by touch alone."""

    def writeto(self, addr, buf):
        pass

    def writevto(self, addr, bufs):
        pass


def _display(i2c):
    try:
        present = OLED_ADDR in i2c.scan()
    except OSError:
        present = False
    return ssd1306.SSD1306_I2C(128, 64, i2c if present else _NoPanel(), OLED_ADDR)


class Motor:
    """Vibration motor (or piezo) on a PWM pin; duty 0..65535."""

    def __init__(self, pin, freq=1000):
        self.pwm = PWM(Pin(pin))
        self.pwm.freq(freq)
        self.pwm.duty_u16(0)

    def on(self, duty=65535):
        self.pwm.duty_u16(duty)

    def off(self):
        self.pwm.duty_u16(0)


_button_pin = Pin(BUTTON_PIN, Pin.IN, Pin.PULL_UP)
_vbus = Pin(VBUS_SENSE, Pin.IN)
_vsys = ADC(VSYS_ADC)


def button():
    """True while the button is pressed (it pulls the pin to GND)."""
    return _button_pin.value() == 0


def on_usb():
    return _vbus.value() == 1


def battery():
    """(percent or None, on_usb). Percent from VSYS on a LiPo's 3.3-4.2 V range; None on USB."""
    usb = on_usb()
    if usb:
        return None, True
    volts = _vsys.read_u16() * 3 * 3.3 / 65535
    pct = int((volts - 3.3) * 100 / 0.9)
    return max(0, min(100, pct)), False


def wait(ms):
    """Sleep up to ms, waking early when the USB serial link has data. Returns True if it has."""
    return bool(_poller.poll(max(0, ms)))


def watchdog():
    """Start the hardware watchdog (it cannot be stopped again) and return it; None on USB."""
    if on_usb():
        return None
    from machine import WDT
    return WDT(timeout=WATCHDOG_MS)


import select  # noqa: E402

_poller = select.poll()
_poller.register(sys.stdin, select.POLLIN)
motor = Motor(MOTOR_PIN)
display = _display(I2C(I2C_ID, sda=Pin(SDA), scl=Pin(SCL), freq=I2C_HZ))
