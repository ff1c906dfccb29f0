def inner():
    raise KeyError("missing")


def outer():
    inner()
    return 1


print("before")
outer()
print("never")
