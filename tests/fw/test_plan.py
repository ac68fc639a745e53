"""Exercises expand into the steps docs/routines.md describes; counts and times agree with them."""
import json

import plan
from fwtest import seed_files
from plan import HOLD, LEFT, NONE, PREP, PRESS, REST, RIGHT, SREST, SWITCH, TEMPO


def doc_of(*exercises, **top):
    d = {"v": 1, "id": "t", "name": "T", "src": "test", "freq": {"n": 1, "per": "day"}, "ex": list(exercises)}
    for k in top:
        d[k] = top[k]
    return d


def test_kind_names_cover_every_kind():
    assert plan.KIND_NAMES[PREP] == "prep" and plan.KIND_NAMES[HOLD] == "hold"
    assert plan.KIND_NAMES[PRESS] == "press" and len(plan.KIND_NAMES) == 7


def test_hold_without_sides_alternates_holds_and_rests_after_the_prep():
    d = doc_of({"name": "a", "hold": 10, "reps": 3, "rest": 5}, prep=4)
    assert list(plan.steps(d)) == [
        (PREP, 0, 1, 1, NONE, 4000),
        (HOLD, 0, 1, 1, NONE, 10000), (REST, 0, 1, 2, NONE, 5000),
        (HOLD, 0, 1, 2, NONE, 10000), (REST, 0, 1, 3, NONE, 5000),
        (HOLD, 0, 1, 3, NONE, 10000),
    ]


def test_defaults_one_hold_routine_prep_five_seconds():
    d = doc_of({"name": "a", "hold": 30})
    assert list(plan.steps(d)) == [(PREP, 0, 1, 1, NONE, 5000), (HOLD, 0, 1, 1, NONE, 30000)]
    assert plan.total_ms(d) == 35000 and plan.count(d) == 2


def test_each_side_does_all_left_reps_then_switch_then_right():
    d = doc_of({"name": "a", "hold": 20, "reps": 2, "sides": "each", "rest": 3, "switch": 4, "prep": 0})
    assert list(plan.steps(d)) == [
        (HOLD, 0, 1, 1, LEFT, 20000), (REST, 0, 1, 2, LEFT, 3000), (HOLD, 0, 1, 2, LEFT, 20000),
        (SWITCH, 0, 1, 1, RIGHT, 4000),
        (HOLD, 0, 1, 1, RIGHT, 20000), (REST, 0, 1, 2, RIGHT, 3000), (HOLD, 0, 1, 2, RIGHT, 20000),
    ]


def test_alt_sides_switch_within_a_rep_and_rest_between_reps():
    d = doc_of({"name": "a", "hold": 5, "reps": 2, "sides": "alt", "rest": 2, "switch": 1, "prep": 0})
    assert list(plan.steps(d)) == [
        (HOLD, 0, 1, 1, LEFT, 5000), (SWITCH, 0, 1, 1, RIGHT, 1000), (HOLD, 0, 1, 1, RIGHT, 5000),
        (REST, 0, 1, 2, LEFT, 2000),
        (HOLD, 0, 1, 2, LEFT, 5000), (SWITCH, 0, 1, 2, RIGHT, 1000), (HOLD, 0, 1, 2, RIGHT, 5000),
    ]


def test_sets_are_separated_by_the_set_rest_and_prep_comes_once():
    d = doc_of({"name": "a", "hold": 5, "sets": 3, "srest": 10, "prep": 2})
    assert list(plan.steps(d)) == [
        (PREP, 0, 1, 1, NONE, 2000), (HOLD, 0, 1, 1, NONE, 5000),
        (SREST, 0, 2, 1, NONE, 10000), (HOLD, 0, 2, 1, NONE, 5000),
        (SREST, 0, 3, 1, NONE, 10000), (HOLD, 0, 3, 1, NONE, 5000),
    ]


def test_zero_second_steps_are_left_out():
    d = doc_of({"name": "a", "hold": 5, "reps": 2, "sets": 2, "srest": 0, "rest": 0, "prep": 0})
    assert [s[0] for s in plan.steps(d)] == [HOLD, HOLD, HOLD, HOLD]


def test_tempo_is_one_step_per_set_per_side_lasting_reps_times_tempo():
    d = doc_of({"name": "a", "tempo": 3, "reps": 10, "sides": "each", "sets": 2, "srest": 20, "prep": 0})
    assert list(plan.steps(d)) == [
        (TEMPO, 0, 1, 0, LEFT, 30000), (SWITCH, 0, 1, 0, RIGHT, 5000), (TEMPO, 0, 1, 0, RIGHT, 30000),
        (SREST, 0, 2, 0, LEFT, 20000),
        (TEMPO, 0, 2, 0, LEFT, 30000), (SWITCH, 0, 2, 0, RIGHT, 5000), (TEMPO, 0, 2, 0, RIGHT, 30000),
    ]


def test_press_steps_are_open_ended_and_count_zero_time():
    d = doc_of({"name": "a", "press": True, "reps": 10, "sets": 2}, prep=0)
    assert list(plan.steps(d)) == [(PRESS, 0, 1, 0, NONE, 0), (SREST, 0, 2, 0, NONE, 30000),
                                   (PRESS, 0, 2, 0, NONE, 0)]
    assert plan.total_ms(d) == 30000


def _random_doc(seed):
    exs = []
    n = 1 + seed % 4
    x = seed
    for _ in range(n):
        vals = []
        for _ in range(10):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            vals.append(x >> 8)
        kind = ("hold", "tempo", "press")[vals[0] % 3]
        ex = {"name": "e"}
        ex[kind] = True if kind == "press" else 1 + vals[1] % 7
        ex["reps"] = 1 + vals[2] % 4
        ex["sides"] = ("none", "each", "alt")[vals[3] % 3]
        ex["sets"] = 1 + vals[4] % 3
        ex["rest"] = vals[5] % 3
        ex["srest"] = vals[6] % 3
        ex["switch"] = 1 + vals[7] % 2
        if vals[8] % 2:
            ex["prep"] = vals[9] % 3
        exs.append(ex)
    return doc_of(*exs, prep=seed % 3)


def _check_arithmetic_matches_expansion(d):
    all_steps = list(plan.steps(d))
    assert plan.count(d) == len(all_steps)
    assert plan.total_ms(d) == sum(s[5] for s in all_steps)
    first = 0
    for e in range(len(d["ex"])):
        mine = list(plan.ex_steps(d, e))
        assert plan.ex_size(d, e) == (len(mine), sum(s[5] for s in mine)), (d["ex"][e], mine)
        assert all_steps[first:first + len(mine)] == mine
        first += len(mine)
    ms = 0
    for i, st in enumerate(all_steps):
        assert plan.nth(d, i) == st
        assert list(plan.steps(d, i)) == all_steps[i:]
        assert plan.ms_before(d, i) == ms
        e, f, n = plan.ex_bounds(d, i)
        assert e == st[1] and f <= i < f + n and all_steps[f][1] == e
        assert f == 0 or all_steps[f - 1][1] != e
        assert st[5] > 0 or st[0] == PRESS
        ms += st[5]
    assert plan.nth(d, len(all_steps)) is None
    assert plan.ex_bounds(d, len(all_steps)) is None
    return all_steps


def test_counts_and_times_by_arithmetic_equal_the_expansion():
    for seed in range(1, 60):
        _check_arithmetic_matches_expansion(_random_doc(seed * 7919))


def test_plan_times_agree_with_the_validators_exercise_time():
    # routine.py checks the 2 h / 4 h limits with its own arithmetic: it must be the plan's.
    import routine
    if not hasattr(routine, "ex_seconds"):
        return
    for seed in range(1, 40):
        d = _random_doc(seed * 104729)
        for e in range(len(d["ex"])):
            assert plan.ex_size(d, e)[1] == routine.ex_seconds(d, d["ex"][e]) * 1000, d["ex"][e]


def test_progress_runs_from_zero_to_the_scale():
    d = doc_of({"name": "a", "hold": 10, "reps": 2, "rest": 10}, prep=0)
    assert plan.progress(d, 0, 0) == 0
    assert plan.progress(d, 1, 5000) == 50
    assert plan.progress(d, 2, 10000, scale=128) == 128
    assert plan.progress(d, 1, 0, total=plan.total_ms(d)) == 33
    big = doc_of({"name": "a", "hold": 600, "reps": 10, "sets": 5}, prep=0)
    assert plan.progress(big, plan.count(big) // 2, 0, scale=1000) in (499, 500)


def test_every_seed_routine_expands_consistently():
    files = seed_files()
    for path in files:
        with open(path) as f:
            d = json.load(f)
        all_steps = _check_arithmetic_matches_expansion(d)
        assert all_steps, path
        # every exercise appears, in order
        assert [s[1] for s in all_steps] == sorted(s[1] for s in all_steps)
        assert set(s[1] for s in all_steps) == set(range(len(d["ex"]))), path
