def any_positive(xs):
    return any(x > 0 for x in xs)
