"""The resume offer after a power cut, as the device draws it: the routine's name, the step and the
exercise it goes on at, and what long and short do (issue 9: it showed the id cut to 16 characters,
no exercise and a hint the README did not document)."""
import simdevice as sd

SEEDS = sd.seeds()
HEAP = 192
RESUME = 5  # app._RESUME


def test_resume_screen_names_the_routine_the_step_its_exercise_and_the_buttons(tmp_path):
    rid = "king-hip-hamstring"
    doc = SEEDS[rid][0]
    step = 6
    fs = str(tmp_path / "flash")
    sd.flash_with(fs, [(rid, SEEDS[rid][1])])
    cut = 0.5 + 0.8 + sd.plan.ms_before(doc, step) / 1000 + 1.0  # 1 s into step 6 (the long fires 0.8 s in)
    sim = sd.start(fs, script=[(0.5, "long"), (cut, "cut")], heap_kb=HEAP)
    try:
        assert sim.wait(60) == -9
    finally:
        sim.stop()
    sim = sd.start(fs, script=[(5.0, "short")], heap_kb=HEAP)  # boots into the offer; short discards
    try:
        sim.wait_for(lambda e: e.kind == "C" and e.name == "screen"
                     and sum(1 for c in sim.cues() if c.name == "screen") >= 2, timeout=60)
    finally:
        sim.stop()
    evs = [e for e in sim.events if e.kind in ("F", "C")]
    k = min(j for j, e in enumerate(evs) if e.kind == "C" and e.name == "screen" and e.data == str(RESUME))
    first = sd.read_screens([[e for e in evs[:k] if e.kind == "F"][-1]], tmp_path)[0]  # drawn, then traced
    lines = first.split("#")[0].split("|")
    ex = doc["ex"][sd.plan.ex_bounds(doc, step)[0]]["name"]
    words = " ".join(lines)
    assert lines[0] == "RESUME?", first
    assert " ".join(doc["name"].split()[:3]) in words, first  # the name (wrapped), not the id
    assert rid[:16] not in words, first
    assert "at step %d/%d" % (step + 1, sd.plan.count(doc)) in lines, first
    assert ex in words, first
    assert "long  resume" in lines and "short discard" in lines, first
