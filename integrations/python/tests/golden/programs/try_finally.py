def risky():
    try:
        raise RuntimeError("boom")
    finally:
        cleanup = True


def caller():
    try:
        risky()
    except RuntimeError as e:
        return "caught " + str(e)


print(caller())
