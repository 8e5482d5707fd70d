import csv, time, numpy as np, sys
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, accuracy_score, confusion_matrix
D="/work/shared/data/dialogid"
def load(s):
    r=list(csv.DictReader(open(f"{D}/{s}.csv",encoding="utf-8"))); return [x['text'] for x in r], np.array([int(x['label']) for x in r])
Xtr,ytr=load('train'); Xdv,ydv=load('dev')
def ev(name,p):
    print(f"{name:50s} acc={accuracy_score(ydv,p):.4f} mF1={f1_score(ydv,p,average='macro'):.4f}", np.round(f1_score(ydv,p,average=None),3), flush=True)
for ng in [(1,3),(1,4),(1,5)]:
  for sub in [False,True]:
    v=TfidfVectorizer(analyzer='char',ngram_range=ng,sublinear_tf=sub,min_df=1); A=v.fit_transform(Xtr); B=v.transform(Xdv)
    for C in [0.1,0.3,1.0]:
      for cw in [None,'balanced']:
        m=LinearSVC(C=C,class_weight=cw).fit(A,ytr); ev(f"char{ng} sub={sub} C={C} cw={cw}", m.predict(B))
