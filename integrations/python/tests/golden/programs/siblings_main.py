import sib_helper
from sib_helper import triple


def go():
    return sib_helper.double(2) + triple(1)


print(go())
