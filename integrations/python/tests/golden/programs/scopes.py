counter = 0


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


print(bump_global(), closure())
