import importlib

helper = importlib.import_module("sib_" + "untraced")  # dynamic: not discovered, not traced


def gen():
    try:
        yield 1
    except KeyError:
        yield 2


print(helper.any_positive([0, 3, 5]))
g = gen()
next(g)
print(g.throw(KeyError("k")))
