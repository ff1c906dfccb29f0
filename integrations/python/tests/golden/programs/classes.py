class Counter:
    start = 10

    def __init__(self, step):
        self.step = step
        self.value = Counter.start

    def bump(self):
        self.value += self.step
        return self.value

    @classmethod
    def make(cls):
        return cls(2)

    @staticmethod
    def double(x):
        return x * 2


c = Counter.make()
c.bump()
print(Counter.double(c.bump()))
