def reraiser():
    try:
        int("z")
    except ValueError:
        raise


def gen_raises():
    yield 1
    raise KeyError("g")


try:
    reraiser()
except ValueError:
    print("reraised")
try:
    for v in gen_raises():
        pass
except KeyError:
    print("gen raised")
