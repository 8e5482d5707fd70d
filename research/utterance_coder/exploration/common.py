import csv, numpy as np, time
from sklearn.metrics import f1_score, accuracy_score
D="/work/shared/data/dialogid"; CD="/tmp/uttcoder_cache"
def load(s):
    r=list(csv.DictReader(open(f"{D}/{s}.csv",encoding="utf-8"))); return [x['text'] for x in r], np.array([int(x['label']) for x in r])
Xtr,ytr=load('train'); Xdv,ydv=load('dev')
def ev(name,p,y=None):
    y=ydv if y is None else y
    f=f1_score(y,p,average='macro')
    print(f"{name:55s} acc={accuracy_score(y,p):.4f} mF1={f:.4f}", np.round(f1_score(y,p,average=None),3), flush=True); return f
