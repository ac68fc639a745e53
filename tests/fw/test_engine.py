"""The session engine cues every step at its scheduled millisecond and handles the button gestures."""
import gc
import json

import plan
import ticks
from engine import DISCOMFORT, ENDED, SKIPPED, Engine
from fwtest import seed_files
from plan import HOLD, PRESS, TEMPO

P = ticks.PERIOD


def doc_of(*exercises, **top):
    d = {"v": 1, "id": "t", "name": "T", "src": "test", "freq": {"n": 1, "per": "day"}, "ex": list(exercises)}
    for k in top:
        d[k] = top[k]
    return d


def load(path):
    # json.load streams from the file: no file-sized buffer on a fragmented small heap
    with open(path) as f:
        return json.load(f)


class Rand:
    """The same pseudo-random numbers on CPython and MicroPython."""

    def __init__(self, seed):
        self.x = seed

    def below(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) % n


def drive(doc, start=0, late=0, rand=None, script=(), press_after=1500, engine=None, sink=None):
    """Run a session: wake when the engine asks (plus `late` ms, plus up to `rand` ms), apply the
    gestures of `script` [(ms_from_start, name)], press "short" `press_after` ms into a PRESS step.
    Returns (engine, events with at_ms turned into ms from start); with `sink`, each such event is
    passed to sink(event) instead of being kept (a long session does not fit a Pico-sized heap)."""
    e = engine or Engine(doc, start)
    evs = []
    script = list(script)
    t = 0
    r = Rand(rand) if rand else None
    press_at = None

    def take(batch):
        for name, at, i, data in batch:
            ev = (name, ticks.diff(at, start), i, data)
            if sink is None:
                evs.append(ev)
            else:
                sink(ev)
        return batch and batch[-1]

    take(e.start(start))
    while not e.done:
        now = ticks.add(start, t)
        w = e.wake_in(now)
        if w is None and not script:
            if e.step is None or e.step[0] != PRESS:
                break
            script.append((max(t, ticks.diff(e.step_at, start) + press_after), "short"))
        target = None if w is None else t + w + late + (r.below(rand) if r else 0)
        if script and (target is None or script[0][0] <= target):
            g_at, name = script.pop(0)
            t = g_at
            take(e.gesture(name, ticks.add(start, t)))
        else:
            t = target
            take(e.update(ticks.add(start, t)))
    return e, evs


def expected_gen(doc, ticks_at=(3000, 2000, 1000), press_after=1500):
    """The cue trace docs/engine.md promises for an undisturbed run, derived from the plan alone:
    (name, ms from start, step index)."""
    t = 0
    i = 0
    prev = None
    for st in plan.steps(doc):
        kind, ex, d = st[0], st[1], st[5]
        if prev is not None:
            if prev != ex:
                yield ("ex_done", t, i - 1)
        prev = ex
        if kind == TEMPO:
            beat = doc["ex"][ex]["tempo"] * 1000
            for k in range(d // beat):
                yield ("rep", t + k * beat, i)
        else:
            yield (("prep", "hold", "rest", "switch", "rest", "rep", "press_wait")[kind], t, i)
        if kind == HOLD:
            for r in ticks_at:
                if 0 < r < d:
                    yield ("tick", t + d - r, i)
            yield ("hold_end", t + d, i)
        if kind == PRESS:
            d = press_after
        yield ("step", t + d, i)
        t += d
        i += 1
    yield ("ex_done", t, i - 1)
    yield ("done", t, i - 1)


def expected_cues(doc, ticks_at=(3000, 2000, 1000), press_after=1500):
    return list(expected_gen(doc, ticks_at, press_after))


def names_times(evs):
    return [(n, at, i) for n, at, i, _ in evs]


SMALL = doc_of(
    {"name": "knees", "hold": 5, "reps": 2, "rest": 3, "sides": "alt", "switch": 2},
    {"name": "bridge", "tempo": 2, "reps": 3},
    {"name": "curl", "press": True, "reps": 8},
    prep=4)


def test_every_cue_comes_at_its_millisecond():
    e, evs = drive(SMALL)
    assert names_times(evs)[:12] == [
        ("prep", 0, 0), ("step", 4000, 0),
        ("hold", 4000, 1), ("tick", 6000, 1), ("tick", 7000, 1), ("tick", 8000, 1), ("hold_end", 9000, 1),
        ("step", 9000, 1), ("switch", 9000, 2), ("step", 11000, 2), ("hold", 11000, 3), ("tick", 13000, 3),
    ]
    assert names_times(evs) == expected_cues(SMALL)
    assert e.done and e.end_reason == "done"
    ticks_data = [d for n, _, _, d in evs if n == "tick"]
    assert ticks_data[:3] == [3, 2, 1]


def test_tempo_beats_every_tempo_seconds_and_press_waits_for_the_user():
    e, evs = drive(SMALL, press_after=4321)
    reps = [(at, i, d) for n, at, i, d in evs if n == "rep"]
    t0 = reps[0][0]
    assert [(at - t0, d) for at, i, d in reps] == [(0, 1), (2000, 2), (4000, 3)]
    waits = [(at, i) for n, at, i, d in evs if n == "press_wait"]
    assert len(waits) == 1
    rec = [d for n, at, i, d in evs if n == "step" and i == waits[0][1]][0]
    assert rec[0] == PRESS and rec[1] == 0 and rec[2] == 4321 and rec[3] == 0


def test_a_press_step_has_no_deadline_and_a_short_press_ends_it():
    d = doc_of({"name": "curl", "press": True, "reps": 5}, prep=0)
    e = Engine(d, 100)
    assert [ev[0] for ev in e.start(100)] == ["press_wait"]
    assert e.step[0] == PRESS and not e.paused
    assert e.wake_in(5000) is None and e.update(99999) == ()
    assert e.remaining(200) is None
    evs = e.gesture("short", 7100)
    assert [(n, at) for n, at, i, data in evs] == [("step", 7100), ("ex_done", 7100), ("done", 7100)]
    assert evs[0][3][2] == 7000 and not e.paused


def test_pause_extends_the_step_by_exactly_the_paused_time():
    d = doc_of({"name": "a", "hold": 30, "reps": 2, "rest": 10}, prep=0)
    e, evs = drive(d, script=[(12000, "short"), (12000 + 65432, "short")])
    nt = names_times(evs)
    assert ("paused", 12000, 0) in nt and ("resumed", 12000 + 65432, 0) in nt
    assert ("hold_end", 30000 + 65432, 0) in nt and ("tick", 27000 + 65432, 0) in nt
    assert ("done", 70000 + 65432, 2) in nt
    rec = [data for n, at, i, data in evs if n == "step" and i == 0][0]
    assert rec[1] == 30000 and rec[2] == 30000 and rec[3] == 0 and rec[4] == 1
    resumed = [data for n, at, i, data in evs if n == "resumed"][0]
    assert resumed == 65432


def test_a_reminder_every_30_seconds_while_paused():
    d = doc_of({"name": "a", "hold": 30}, prep=0)
    e, evs = drive(d, script=[(1000, "short"), (1000 + 95000, "short")])
    rem = [(at, data) for n, at, i, data in evs if n == "reminder"]
    assert rem == [(31000, 30000), (61000, 60000), (91000, 90000)]


def test_pause_freezes_remaining_time_and_wake_in_points_at_the_reminder():
    d = doc_of({"name": "a", "hold": 30}, prep=0)
    e = Engine(d, 0)
    e.start(0)
    e.gesture("short", 10000)
    assert e.paused and e.remaining(10000) == 20000 and e.remaining(50000) == 20000
    assert e.elapsed(50000) == 10000 and e.paused_for(50000) == 40000
    assert e.wake_in(10000) == 30000
    e.gesture("short", 50000)
    assert not e.paused and e.remaining(50000) == 20000 and e.wake_in(50000) == 17000


def test_reminder_interval_and_tick_times_can_be_overridden():
    d = doc_of({"name": "a", "hold": 10}, prep=0)
    e = Engine(d, 0)
    e.reminder_ms = 5000
    e.ticks_at = (5000, 1000)
    e, evs = drive(d, engine=e, script=[(1000, "short"), (12000, "short")])
    assert [at for n, at, i, _ in evs if n == "reminder"] == [6000, 11000]
    assert [at for n, at, i, _ in evs if n == "tick"] == [16000, 20000]
    assert Engine.reminder_ms == 30000 and Engine.ticks_at == (3000, 2000, 1000)


def test_double_skips_the_current_step_and_the_next_starts_at_once():
    e, evs = drive(SMALL, script=[(6500, "double")])
    nt = names_times(evs)
    i = nt.index(("skipped", 6500, 1))
    assert nt[i + 1] == ("step", 6500, 1) and nt[i + 2] == ("switch", 6500, 2)
    rec = evs[i + 1][3]
    assert rec[0] == HOLD and rec[1] == 5000 and rec[2] == 2500 and rec[3] == SKIPPED
    assert ("hold_end", 9000, 1) not in nt
    # everything after is shifted by the 2500 ms not held
    assert ("hold", 8500, 3) in nt


def test_skip_while_paused_resumes_and_moves_on():
    d = doc_of({"name": "a", "hold": 10, "reps": 2}, prep=0)
    e, evs = drive(d, script=[(2000, "short"), (9000, "double")])
    nt = names_times(evs)
    assert nt[nt.index(("paused", 2000, 0)):][:5] == [
        ("paused", 2000, 0), ("resumed", 9000, 0), ("skipped", 9000, 0), ("step", 9000, 0), ("hold", 9000, 1)]
    rec = [data for n, at, i, data in evs if n == "step" and i == 0][0]
    assert rec[2] == 2000 and rec[3] == SKIPPED and rec[4] == 1


def test_long_ends_the_session_with_a_record_of_the_current_step():
    e, evs = drive(SMALL, script=[(7000, "long")])
    assert e.done and e.end_reason == "ended" and e.wake_in(8000) is None
    nt = names_times(evs)
    assert nt[-2:] == [("step", 7000, 1), ("ended", 7000, 1)]
    rec = evs[-2][3]
    assert rec[:5] == (HOLD, 5000, 3000, ENDED, 0)
    assert "done" not in [ev[0] for ev in evs]
    assert e.gesture("short", 9000) == () and e.update(99000) == ()


def test_end_while_paused_counts_only_the_time_held():
    d = doc_of({"name": "a", "hold": 10}, prep=0)
    e, evs = drive(d, script=[(4000, "short"), (20000, "long")])
    rec = [data for n, at, i, data in evs if n == "step"][0]
    assert rec[2] == 4000 and rec[3] == ENDED and rec[4] == 1


def test_triple_marks_discomfort_on_the_current_step_only():
    e, evs = drive(SMALL, script=[(5000, "triple")])
    nt = names_times(evs)
    assert ("discomfort", 5000, 1) in nt
    recs = [(i, data[3]) for n, at, i, data in evs if n == "step"]
    assert recs[1] == (1, DISCOMFORT)
    assert all(f == 0 for i, f in recs if i != 1)
    # the session itself is unchanged
    assert [x for x in nt if x[0] != "discomfort"] == expected_cues(SMALL)


def test_step_records_carry_position_and_offset():
    e, evs = drive(SMALL)
    recs = [(i, data) for n, at, i, data in evs if n == "step"]
    steps = list(plan.steps(SMALL))
    t = 0
    for i, data in recs:
        st = steps[i]
        assert data[0] == st[0] and data[1] == st[5]
        assert data[5:9] == st[1:5]
        assert data[9] == t
        t += data[2]


def test_the_tick_counter_wraps_mid_session():
    start = P - 5000
    e, evs = drive(SMALL, start=start)
    assert names_times(evs) == expected_cues(SMALL)
    for n, at, i, d in evs:
        assert 0 <= ticks.add(start, at) < P


def test_wrap_with_pause_and_skip_across_the_boundary():
    start = P - 5000
    _, evs0 = drive(SMALL, start=0, script=[(3000, "short"), (9000, "short"), (14000, "double")])
    _, evs1 = drive(SMALL, start=start, script=[(3000, "short"), (9000, "short"), (14000, "double")])
    assert evs0 == evs1


def test_waking_late_emits_the_same_events_at_their_scheduled_times():
    _, on_time = drive(SMALL, press_after=2500)
    _, late = drive(SMALL, late=1700, press_after=2500)
    assert late == on_time


def test_late_wake_catches_up_all_due_events_in_one_update():
    d = doc_of({"name": "a", "hold": 5, "reps": 3, "rest": 2}, prep=3)
    e = Engine(d, 0)
    e.start(0)
    evs = e.update(12000)
    assert [(n, at) for n, at, i, _ in evs] == [
        ("step", 3000), ("hold", 3000), ("tick", 5000), ("tick", 6000), ("tick", 7000),
        ("hold_end", 8000), ("step", 8000), ("rest", 8000), ("step", 10000), ("hold", 10000),
        ("tick", 12000)]
    assert e.i == 3 and e.remaining(12000) == 3000 and e.wake_in(12000) == 1000


def test_gesture_on_a_late_wake_applies_to_the_step_current_at_that_time():
    d = doc_of({"name": "a", "hold": 5, "reps": 2, "rest": 2}, prep=0)
    e = Engine(d, 0)
    e.start(0)
    evs = e.gesture("double", 8000)  # the first hold and the rest are over: skip the 2nd hold
    assert [(n, at, i) for n, at, i, _ in evs][-4:] == [
        ("skipped", 8000, 2), ("step", 8000, 2), ("ex_done", 8000, 2), ("done", 8000, 2)]
    assert evs[-3][3][2] == 1000


def test_update_returns_an_empty_tuple_when_nothing_is_due():
    e = Engine(SMALL, 0)
    assert e.update(0) == () and e.wake_in(0) is None
    e.start(0)
    assert e.update(10) == ()
    assert e.wake_in(10) == 3990


def test_a_60_minute_session_with_random_late_wakes_ends_exactly_on_time():
    d = doc_of({"name": "long holds", "hold": 45, "reps": 20, "rest": 15, "sides": "each", "switch": 10},
               {"name": "tempo", "tempo": 4, "reps": 25, "sets": 3, "srest": 30},
               {"name": "short holds", "hold": 8, "reps": 30, "rest": 2, "sides": "alt", "switch": 5},
               {"name": "last hold", "hold": 132},
               prep=10)
    total = plan.total_ms(d)
    assert total == 3600000, total
    gc.collect()
    start = P - 1234567
    want = expected_gen(d)
    seen = [0, None]

    def check(ev):
        assert (ev[0], ev[1], ev[2]) == next(want), ev
        seen[0] += 1
        seen[1] = ev

    e, _ = drive(d, start=start, rand=2000, sink=check)
    assert seen[1][:2] == ("done", total) and e.done
    assert seen[0] > 800
    for extra in want:
        raise AssertionError("expected more events: %r" % (extra,))


def test_resume_from_a_given_step_after_a_power_cut():
    e = Engine(SMALL, 50, start_step=3)
    assert e.i == 3 and e.n == plan.count(SMALL)
    evs = e.start(1000)
    assert evs == [("hold", 1000, 3, plan.nth(SMALL, 3))]
    e, evs = drive(SMALL, start=1000, engine=Engine(SMALL, 0, start_step=3))
    full = expected_cues(SMALL)
    t3 = [at for n, at, i in full if i == 3][0]
    tail = [(n, at - t3, i) for n, at, i in full if i >= 3 or n == "done"]
    assert names_times(evs) == tail
    rec = [data for n, at, i, data in evs if n == "step"][0]
    assert rec[9] == 0


def test_resume_past_the_end_is_simply_done():
    e = Engine(SMALL, 0, start_step=plan.count(SMALL))
    assert [ev[0] for ev in e.start(0)] == ["done"] and e.done


def test_screen_queries_follow_the_session():
    d = doc_of({"name": "a", "tempo": 2, "reps": 4}, prep=0)
    e = Engine(d, 0)
    assert e.step is None and not e.started
    e.start(0)
    assert e.step == (TEMPO, 0, 1, 0, 0, 8000) and e.beat == 1
    e.update(4100)
    assert e.beat == 3 and e.remaining(4100) == 3900 and e.elapsed(4100) == 4100
    e.update(8000)
    assert e.done and e.step is None and e.remaining(9000) is None


def test_every_seed_routine_runs_to_the_planned_end_on_time_and_late():
    # Streamed against the expected trace: a long routine's events do not fit a Pico-sized heap.
    for path in seed_files():
        gc.collect()  # long tests: start on a tidy heap (the unix port's heap is capped like a Pico's)
        d = load(path)
        presses = sum(1 for s in plan.steps(d) if s[0] == PRESS)
        records = None
        for start, late, rand in ((P - 7000, 0, None), (P - 7000, 1700, None), (0, 0, 1900)):
            want = expected_gen(d, press_after=2500)
            got = []
            last = [None]

            def check(ev):
                assert (ev[0], ev[1], ev[2]) == next(want), (path, ev)
                if ev[0] == "step":
                    got.append(ev[3])
                last[0] = ev

            e, _ = drive(d, start=start, late=late, rand=rand, press_after=2500, sink=check)
            for extra in want:
                raise AssertionError("%s: missing %r" % (path, extra))
            assert e.done and last[0][:2] == ("done", plan.total_ms(d) + 2500 * presses), path
            if records is None:
                records = got
            assert got == records, path


def test_every_seed_routine_with_pause_skip_discomfort_and_end():
    for path in seed_files():
        gc.collect()  # long tests: start on a tidy heap (the unix port's heap is capped like a Pico's)
        d = load(path)
        total = plan.total_ms(d)
        script = [(7000, "short"), (7000 + 40000, "short"), (total // 3, "triple"), (total // 2, "double"),
                  (total // 2 + 4000, "long")]
        e, evs = drive(d, script=script, press_after=2000)
        assert e.end_reason == "ended", path
        names = [ev[0] for ev in evs]
        for n in ("paused", "reminder", "resumed", "discomfort", "skipped", "ended"):
            assert n in names, (path, n)
        assert names[-2:] == ["step", "ended"]
        recs = [data for n, at, i, data in evs if n == "step"]
        assert recs[-1][3] & ENDED
        assert any(r[3] & SKIPPED for r in recs) and any(r[3] & DISCOMFORT for r in recs)
        assert sum(r[4] for r in recs) == 1


def test_step_flags_are_the_session_logs_bits():
    try:
        import sessionlog
    except ImportError:
        return
    assert (sessionlog.SKIPPED, sessionlog.DISCOMFORT, sessionlog.ENDED) == (SKIPPED, DISCOMFORT, ENDED)
