import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from coder import UtteranceCoder
from experiments import cached_use, load
from sklearn.metrics import accuracy_score, f1_score

Xtr, ytr = load("train")
Xdv, ydv = load("dev")
c = UtteranceCoder().fit(Xtr, ytr, embeddings=cached_use("train", Xtr))
p = c.predict(Xdv, embeddings=cached_use("dev", Xdv))
print(
    "default CoderConfig():",
    round(accuracy_score(ydv, p), 4),
    round(f1_score(ydv, p, average="macro"), 4),
)
