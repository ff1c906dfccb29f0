def until_three():
    n = 0
    while True:
        n += 1
        if n == 3:
            break
    return n


def search(items, target):
    for item in items:
        if item == target:
            found = True
            break
    else:
        found = False
    return found


def grid():
    cells = 0
    for r in range(2):
        for c in range(3):
            cells += 1
    return cells


print(until_three(), search([1, 2], 2), search([1], 5), grid())
