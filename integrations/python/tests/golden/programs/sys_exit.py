import sys


def leave(code):
    print("leaving")
    sys.exit(code)


leave(3)
print("never")
