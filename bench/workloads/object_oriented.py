"""Object-oriented code: classes, methods, properties, attribute mutation, inheritance."""

SIZES = {"full": 8000, "quick": 3000, "reference": 600, "callgrind": (100, 200)}


class Account:
    def __init__(self, owner, balance=0):
        self.owner = owner
        self.balance = balance
        self.history = 0

    def deposit(self, amount):
        self.balance += amount
        self.history += 1
        return self.balance

    def withdraw(self, amount):
        if amount > self.balance:
            return False
        self.balance -= amount
        self.history += 1
        return True

    @property
    def rich(self):
        return self.balance > 1000


class SavingsAccount(Account):
    def __init__(self, owner, rate):
        super().__init__(owner)
        self.rate = rate

    def add_interest(self):
        interest = self.balance * self.rate // 100
        self.deposit(interest)
        return interest


class Bank:
    def __init__(self, size):
        self.accounts = [SavingsAccount(f"owner{i}", i % 5 + 1) for i in range(size)]
        self.transfers = 0

    def transfer(self, src, dst, amount):
        if self.accounts[src].withdraw(amount):
            self.accounts[dst].deposit(amount)
            self.transfers += 1


def run(n):
    bank = Bank(20)
    for i in range(n):
        acct = bank.accounts[i % 20]
        acct.deposit(i % 97)
        bank.transfer(i % 20, (i * 7) % 20, i % 13)
        if i % 50 == 0:
            acct.add_interest()
    rich = sum(1 for a in bank.accounts if a.rich)
    return bank.transfers, rich


if __name__ == "__main__":
    print(run(SIZES["full"]))
