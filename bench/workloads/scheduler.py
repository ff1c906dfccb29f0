"""A cooperative task scheduler: generators as tasks, a priority queue of wake-up times, a mailbox.

Exercises what a real event loop does: generator suspension and resumption, heapq, dicts of
deques, small objects and attribute updates.
"""

import heapq
from collections import deque

SIZES = {"full": 40000, "quick": 15000, "reference": 1500, "callgrind": (300, 600)}


class Task:
    def __init__(self, name, body):
        self.name = name
        self.body = body
        self.steps = 0
        self.done = False


class Scheduler:
    def __init__(self):
        self.clock = 0
        self.sleeping = []
        self.ready = deque()
        self.mailboxes = {}
        self.counter = 0

    def spawn(self, name, factory):
        task = Task(name, factory(self, name))
        self.mailboxes[name] = deque()
        self.ready.append(task)
        return task

    def send(self, target, message):
        box = self.mailboxes.get(target)
        if box is not None:
            box.append(message)

    def run(self, until):
        while self.clock < until and (self.ready or self.sleeping):
            if not self.ready:
                wake, _, task = heapq.heappop(self.sleeping)
                self.clock = max(self.clock, wake)
                self.ready.append(task)
            task = self.ready.popleft()
            try:
                delay = next(task.body)
            except StopIteration:
                task.done = True
                continue
            task.steps += 1
            self.counter += 1
            heapq.heappush(self.sleeping, (self.clock + delay, self.counter, task))
        return self.clock


def producer(scheduler, name):
    item = 0
    while True:
        item += 1
        scheduler.send("consumer", (name, item))
        yield 1 + item % 3


def consumer(scheduler, name):
    total = 0
    box = scheduler.mailboxes[name]
    while True:
        while box:
            source, item = box.popleft()
            total += item if source == "p1" else 2 * item
        yield 2


def run(n):
    scheduler = Scheduler()
    scheduler.spawn("p1", producer)
    scheduler.spawn("p2", producer)
    consumer_task = scheduler.spawn("consumer", consumer)
    end = scheduler.run(n)
    return end, consumer_task.steps


if __name__ == "__main__":
    print(run(SIZES["full"]))
