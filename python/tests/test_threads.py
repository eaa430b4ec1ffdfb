"""Thread safety and the GIL: the package computes without holding it."""

import subprocess
import sys
import threading
import time

import numpy as np

import cocola


def test_two_threads_scoring_at_once_get_the_sequential_results(model, example_pair):
    condition, stem = example_pair
    other = cocola.Model(threads=1)
    expected = {
        "shared": model.score(condition, stem, 16_000).raw,
        "other": other.score(stem, condition, 16_000).raw,
    }
    results, errors = {}, []
    barrier = threading.Barrier(3)

    def work(name, m, a, b):
        try:
            barrier.wait()
            results[name] = [m.score(a, b, 16_000).raw for _ in range(3)]
        except Exception as e:  # reported below, not lost in the thread
            errors.append(e)

    threads = [
        # Two threads on one model (they take turns), and a third on another model.
        threading.Thread(target=work, args=("shared", model, condition, stem)),
        threading.Thread(target=work, args=("shared2", model, condition, stem)),
        threading.Thread(target=work, args=("other", other, stem, condition)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert results["shared"] == results["shared2"] == [expected["shared"]] * 3
    assert results["other"] == [expected["other"]] * 3


def test_the_gil_is_released_while_scoring(example_pair):
    condition, stem = example_pair
    model = cocola.Model(threads=1)
    ticks = 0
    done = threading.Event()

    def count():
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    def ticks_during(work):
        before, started = ticks, time.perf_counter()
        result = work()
        return ticks - before, time.perf_counter() - started, result

    counter = threading.Thread(target=count)
    counter.start()
    try:
        # The counter's pace while this thread sleeps (the GIL free).
        idle_ticks, idle_seconds, _ = ticks_during(lambda: time.sleep(0.2))
        # ~1 s of scoring: eleven windows, one ONNX Runtime session.
        busy_ticks, busy_seconds, score = ticks_during(
            lambda: model.score(np.tile(condition, 3), np.tile(stem, 3), 16_000, hop=2.5)
        )
    finally:
        done.set()
        counter.join()
    assert score.scored_windows == 11
    # Holding the GIL, the call would let the counter run at its edges only
    # (two switch intervals, 10 ms); released, the counter keeps going,
    # slowed only by sharing the cores with the features and the encoder.
    pace = idle_ticks / idle_seconds
    assert busy_seconds > 0.2 and busy_ticks > 0.1 * pace * busy_seconds, (
        f"the counting thread advanced {busy_ticks} times in {busy_seconds:.2f} s of scoring, "
        f"against {pace:.0f} per second idle"
    )


def test_a_process_forked_after_making_a_model_gets_an_error_not_a_hang():
    code = r"""
import os
import numpy as np
import cocola

clip = np.sin(np.arange(16_000, dtype=np.float32) * 0.05)

def in_child(work):
    pid = os.fork()
    if pid == 0:
        try:
            work()
            os._exit(0)
        except RuntimeError as e:
            os._exit(2 if "start method" in str(e) else 1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

# Forked before any model existed: the child makes and uses its own.
print(in_child(lambda: cocola.Model(threads=1).score(clip, clip, 16_000)))
model = cocola.Model(threads=1)
# Forked after: the model's threads are not in the child; a clear RuntimeError.
print(in_child(lambda: model.score(clip, clip, 16_000)))
print(in_child(lambda: model.rank(clip, [clip, clip[::-1]], 16_000)))
print(in_child(lambda: cocola.Model(threads=1)))
print(model.score(clip, clip, 16_000).raw is not None)  # the parent is unaffected
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "2", "2", "2", "True"]
