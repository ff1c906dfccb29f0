counter = 0
log = []


def bump_global():
    global counter
    counter += 1
    return counter


def closure():
    n = 0

    def inc():
        nonlocal n
        n += 1

    inc()
    return n


def remember(x):
    log.append(x)


remember("a")
remember("b")
print(bump_global(), closure(), log)
