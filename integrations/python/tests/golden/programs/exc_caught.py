def parse(s):
    return int(s)


def safe(s):
    try:
        value = parse(s)
    except ValueError:
        value = -1
    return value


print(safe("x"), safe("7"))
