def walk(n):
    total = 0
    for i in range(2):
        if n > 0:
            total += walk(n - 1)
        total += 1
    return total


def pairs():
    out = []
    for a in range(2):
        out.append([b for b in range(2)])
    return out


def pick(flag):
    if flag:
        vals = {v for v in range(2)}
    return vals


print(walk(2), pairs(), pick(True))
