#!/usr/bin/env python3
"""Kazoo's side of zkcluster's comparison benchmark (benches/compare.rs drives it).

    bench_kazoo.py HOSTS              serve workloads read from stdin, one per line
    bench_kazoo.py --rss MODE HOSTS   peak RSS and threads of one client (MODE: idle | watches)

Commands (answered by one line, "ok key=value ..." or "err message"):
    serial N BASE               create/get/set/exists/delete N nodes under BASE, each timed
    exists T SECS PATH          exists on PATH with T requests in flight (async API)
    getpipe N SECS PATH         batches of N get_async on PATH, each batch waited for
    lock KIND SECS PATH         uncontended acquire+release cycles; KIND: write|read|semaphore
    handoff T SECS PATH         T threads, one client each, passing one Lock
    quit
"""

import sys
import threading
import time

VALUE = b"0123456789abcdef"
VALUE2 = b"fedcba9876543210"
SEMAPHORE_LEASES = 4


def status():
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()[0] if value.split() else ""
    return {"hwm_kb": int(fields["VmHWM"]), "rss_kb": int(fields["VmRSS"]), "threads": int(fields["Threads"])}


def connect(hosts):
    from kazoo.client import KazooClient

    client = KazooClient(hosts=hosts, timeout=30.0)
    client.start(timeout=30)
    return client


def serial(zk, n, base):
    zk.create(base, b"")
    paths = ["%s/n%d" % (base, i) for i in range(n)]
    result = {}
    for name, call in (
        ("create", lambda p: zk.create(p, VALUE)),
        ("get", zk.get),
        ("set", lambda p: zk.set(p, VALUE2)),
        ("exists", zk.exists),
        ("delete", zk.delete),
    ):
        start = time.perf_counter()
        for p in paths:
            call(p)
        result[name] = n / (time.perf_counter() - start)
    if result and zk.exists(paths[0]) is not None:
        raise RuntimeError("delete left nodes behind")
    return result


def batches(secs, batch, fire):
    """Fires batches of `batch` async calls and waits for each batch, for `secs` seconds."""
    start = time.perf_counter()
    done = 0
    while time.perf_counter() - start < secs:
        pending = [fire() for _ in range(batch)]
        for p in pending:
            p.get()
        done += batch
    return {"ops": done / (time.perf_counter() - start)}


def window(secs, depth, fire):
    """Keeps `depth` async calls in flight for `secs` seconds (a new one as each completes)."""
    lock = threading.Lock()
    finished = threading.Event()
    state = {"done": 0, "open": 0, "error": None}
    start = time.perf_counter()

    def launch():
        fire().rawlink(completed)

    def completed(result):
        try:
            result.get()
        except Exception as e:  # noqa: BLE001 - reported to the driver
            state["error"] = e
        with lock:
            state["done"] += 1
            again = state["error"] is None and time.perf_counter() - start < secs
            if not again:
                state["open"] -= 1
                if state["open"] == 0:
                    finished.set()
        if again:
            launch()

    state["open"] = depth
    for _ in range(depth):
        launch()
    finished.wait()
    if state["error"] is not None:
        raise state["error"]
    return {"ops": state["done"] / (time.perf_counter() - start)}


def recipe(zk, kind, path, identifier="bench"):
    if kind == "write":
        return zk.Lock(path, identifier)
    if kind == "read":
        return zk.ReadLock(path, identifier)
    if kind == "semaphore":
        return zk.Semaphore(path, identifier, max_leases=SEMAPHORE_LEASES)
    raise ValueError("unknown lock kind %r" % kind)


def lock_cycles(zk, kind, secs, path):
    lock = recipe(zk, kind, path)
    lock.acquire()
    lock.release()
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < secs:
        lock.acquire()
        lock.release()
        n += 1
    return {"ops": n / (time.perf_counter() - start)}


def handoff(hosts, threads, secs, path):
    clients = [connect(hosts) for _ in range(threads)]
    clients[0].ensure_path(path)
    stop = threading.Event()
    released = [0]
    counter = threading.Lock()
    errors = []
    deadline = [0.0]

    def worker(i):
        lock = clients[i].Lock(path, "t%d" % i)
        try:
            while not stop.is_set():
                lock.acquire()
                if time.perf_counter() < deadline[0]:
                    with counter:
                        released[0] += 1
                lock.release()
        except Exception as e:  # noqa: BLE001 - reported to the driver
            errors.append(e)

    deadline[0] = time.perf_counter() + secs
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    time.sleep(secs)
    stop.set()
    for t in workers:
        t.join()
    for c in clients:
        c.stop()
        c.close()
    if errors:
        raise errors[0]
    return {"ops": released[0] / secs}


def serve(hosts):
    zk = connect(hosts)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        try:
            cmd = words[0]
            if cmd == "serial":
                result = serial(zk, int(words[1]), words[2])
            elif cmd == "exists":
                path = words[3]
                result = window(float(words[2]), int(words[1]), lambda: zk.exists_async(path))
            elif cmd == "getpipe":
                path = words[3]
                result = batches(float(words[2]), int(words[1]), lambda: zk.get_async(path))
            elif cmd == "lock":
                result = lock_cycles(zk, words[1], float(words[2]), words[3])
            elif cmd == "handoff":
                result = handoff(hosts, int(words[1]), float(words[2]), words[3])
            else:
                raise ValueError("unknown command %r" % cmd)
            print("ok " + " ".join("%s=%.3f" % kv for kv in result.items()), flush=True)
        except Exception as e:  # noqa: BLE001 - reported to the driver
            print("err %s: %s" % (type(e).__name__, str(e).replace("\n", " ")), flush=True)
    zk.stop()
    zk.close()


def rss(mode, hosts):
    import kazoo  # noqa: F401 - counted in the baseline, as a user's process would have it

    base = status()
    zk = connect(hosts)
    if mode == "watches":
        for i in range(1000):
            zk.exists("/bench/watched/n%d" % i, watch=lambda event: None)
    time.sleep(0.3)
    now = status()
    print("ok hwm_kb=%d rss_kb=%d threads=%d base_hwm_kb=%d base_threads=%d"
          % (now["hwm_kb"], now["rss_kb"], now["threads"], base["hwm_kb"], base["threads"]), flush=True)
    zk.stop()
    zk.close()


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--rss":
        rss(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 2:
        serve(sys.argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
