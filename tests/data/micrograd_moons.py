"""A typical micrograd training script (after micrograd's demo.ipynb), kept as users write
it: `python -m fastgrad run` must run it unedited. Plain Python, no numpy or sklearn.

usage: micrograd_moons.py [--steps N] [--samples N]
"""
import argparse
import math
import random

from micrograd.engine import Value
from micrograd.nn import MLP

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--samples", type=int, default=40)
args = parser.parse_args()

# two interleaved half circles with a little noise, labels -1 / +1
random.seed(1337)
X, y = [], []
for i in range(args.samples):
    t = math.pi * (i // 2) / (args.samples // 2)
    if i % 2 == 0:
        X.append([math.cos(t) + random.gauss(0, 0.1), math.sin(t) + random.gauss(0, 0.1)])
        y.append(-1)
    else:
        X.append([1 - math.cos(t) + random.gauss(0, 0.1), 0.5 - math.sin(t) + random.gauss(0, 0.1)])
        y.append(1)

model = MLP(2, [8, 8, 1])
print(model)
print("number of parameters", len(model.parameters()))


def loss():
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    alpha = 1e-4
    reg_loss = alpha * sum((p*p for p in model.parameters()))
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
    return total_loss, sum(accuracy) / len(accuracy)


for k in range(args.steps):
    total_loss, acc = loss()
    model.zero_grad()
    total_loss.backward()
    learning_rate = 1.0 - 0.9*k/args.steps
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    print(f"step {k} loss {total_loss.data}, accuracy {acc*100}%")
