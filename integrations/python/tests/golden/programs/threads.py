import threading

results = []


class Worker(threading.Thread):
    def __repr__(self):
        return "<Worker>"


def worker(k):
    v = k * 10
    results.append(v)


t = Worker(target=worker, args=(4,))
t.start(); t.join()  # one line: no main-thread event while the worker runs
worker(1)
print(results)
