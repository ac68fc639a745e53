# Reads screens back from frames for host tests (MicroPython: needs framebuf's font).
# Usage: micropython readframes.py FILE, FILE holding one frame a line as hex (1024 bytes of GDDRAM);
# prints, per frame, one line: the 8 text lines joined by "|" and then "#" and the big number.
import sys

here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, here)
sys.path.insert(0, here + "/../../firmware")
import binascii  # noqa: E402

import screenread  # noqa: E402

with open(sys.argv[1]) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        pix = binascii.unhexlify(line)
        print("|".join(screenread.lines(pix)) + "#" + str(screenread.big_text(pix)))
