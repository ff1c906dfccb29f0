class Box:
    pass


def fill(target):
    target.append(99)


def main():
    xs = [1]
    xs.append(2)
    d = {}
    d["k"] = 1
    b = Box()
    b.attr = 5
    fill(xs)
    xs += [3]
    return xs, d, b.attr


print(main())
