"""01: a first gradient.

Build y = a * b + c from three Values, run backward, and compare each gradient with a finite
difference: the chain rule in its smallest form.

    python examples/01_first_gradient.py
"""

from microgrant import Value, gradcheck


def main() -> None:
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    y = a * b + c
    y.label = "y"
    y.backward()

    print(f"y = a * b + c = {y.data}")
    for v, formula in ((a, "b"), (b, "a"), (c, "1")):
        print(f"dy/d{v.label} = {formula:<2} = {v.grad}")

    check = gradcheck(lambda a, b, c: a * b + c, [a, b, c])
    print()
    print(check)


if __name__ == "__main__":
    main()
