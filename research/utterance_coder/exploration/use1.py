import csv, time, numpy as np, scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, accuracy_score, confusion_matrix
D="/work/shared/data/dialogid"; C_="/tmp/uttcoder_cache"
def load(s):
    r=list(csv.DictReader(open(f"{D}/{s}.csv",encoding="utf-8"))); return [x['text'] for x in r], np.array([int(x['label']) for x in r])
Xtr,ytr=load('train'); Xdv,ydv=load('dev')
Utr=np.load(f"{C_}/use_train.npy"); Udv=np.load(f"{C_}/use_dev.npy")
def ev(name,p):
    print(f"{name:50s} acc={accuracy_score(ydv,p):.4f} mF1={f1_score(ydv,p,average='macro'):.4f}", np.round(f1_score(ydv,p,average=None),3), flush=True)
for C in [0.3,1,3]:
    m=LinearSVC(C=C).fit(Utr,ytr); ev(f"USE only svc C={C}", m.predict(Udv))
v=TfidfVectorizer(analyzer='char',ngram_range=(1,4),sublinear_tf=True); A=v.fit_transform(Xtr); B=v.transform(Xdv)
print(confusion_matrix(ydv, LinearSVC(C=0.3,class_weight='balanced').fit(A,ytr).predict(B)))
for w in [0.5,1.0,2.0]:
  A2=sp.hstack([A,sp.csr_matrix(Utr*w)]).tocsr(); B2=sp.hstack([B,sp.csr_matrix(Udv*w)]).tocsr()
  for C in [0.3,1.0]:
    for cw in [None,'balanced']:
      m=LinearSVC(C=C,class_weight=cw).fit(A2,ytr); ev(f"char14sub+USE*{w} C={C} cw={cw}", m.predict(B2))
