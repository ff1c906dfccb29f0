class Loud:
    def __repr__(self):
        return "L" * 100000


def main():
    big = list(range(100000))
    text = "y" * 5000
    mapping = dict.fromkeys(range(5000), 0)
    loud = Loud()
    me = [1]
    me.append(me)
    return len(big) + len(text) + len(mapping)


print(main())
