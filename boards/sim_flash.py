"""The `os` module of the simulated device's firmware when the simulator gives it a flash size
(conf flash_kb; `holdtimer sim` does): the unix port's os, except that statvfs describes the
simulated flash instead of the PC's disk."""
import os as _os

from micropython import const

_BLOCK = const(4096)  # a LittleFS block
root = ""
kb = 1408  # MicroPython's filesystem on a 2 MB Pico


def __getattr__(name):
    return getattr(_os, name)


def _used_blocks(path):
    """Blocks the files under path would take on LittleFS: two per folder, one per started 4 KB of
    each file (an estimate: LittleFS also inlines very small files in their folder's blocks)."""
    n = 2
    for ent in _os.ilistdir(path):
        p = path + "/" + ent[0]
        if ent[1] == 0x4000:
            n += _used_blocks(p)
        else:
            n += (_os.stat(p)[6] + _BLOCK - 1) // _BLOCK
    return n


def statvfs(path="/"):
    """kb of flash in 4 KB blocks, less what the flash directory holds, never more than the PC has
    free (f_bsize, f_frsize, f_blocks, f_bfree, f_bavail, ...)."""
    real = _os.statvfs(root)
    total = kb * 1024 // _BLOCK
    free = total - _used_blocks(root)
    pc = real[1] * real[4] // _BLOCK
    free = max(0, min(free, pc))
    return (_BLOCK, _BLOCK, total, free, free, 0, 0, 0, 0, 255)
