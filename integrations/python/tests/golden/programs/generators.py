def count_up(n):
    i = 0
    while i < n:
        yield i
        i += 1
    return "done"


def relay(n):
    result = yield from count_up(n)
    yield result


g = count_up(2)
first = next(g)
rest = list(g)
print(first, rest)
print(list(relay(1)))
