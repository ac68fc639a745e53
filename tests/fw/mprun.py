# Runs the firmware test modules (tests/fw/test_*.py) under the MicroPython unix port.
# Usage: micropython tests/fw/mprun.py [module ...]; prints one line per test and a summary line
# "N passed, N failed"; exits 1 if any failed.
import gc
import os
import sys

here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, here)
sys.path.insert(0, here + "/../../firmware")


def main():
    names = sys.argv[1:] or sorted(n[:-3] for n in os.listdir(here) if n.startswith("test_") and n.endswith(".py"))
    passed = failed = 0
    for mod_name in names:
        mod = __import__(mod_name)
        for attr in sorted(dir(mod)):
            if not attr.startswith("test_"):
                continue
            fn = getattr(mod, attr)
            gc.collect()
            try:
                fn()
                passed += 1
                print("PASS", mod_name, attr)
            except Exception as e:
                failed += 1
                print("FAIL", mod_name, attr, repr(e))
                sys.print_exception(e)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


main()
