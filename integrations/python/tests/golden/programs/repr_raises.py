class Bad:
    def __repr__(self):
        raise ValueError("boom")


def use(obj):
    held = obj
    return 1


b = Bad()
print(use(b))
try:
    repr(b)
except ValueError as e:
    print("repr still raises:", e)
