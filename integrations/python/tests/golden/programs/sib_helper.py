FACTOR = 2


def double(x):
    return x * FACTOR


def triple(x):
    y = x * 3
    return y
