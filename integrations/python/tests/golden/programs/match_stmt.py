def describe(cmd):
    match cmd:
        case ["go", direction]:
            out = "going " + direction
        case ["stop"]:
            out = "stopping"
        case {"x": x}:
            out = "x=" + str(x)
        case _:
            out = "unknown"
    return out


print(describe(["go", "north"]), describe(["stop"]), describe({"x": 1}), describe(3))
