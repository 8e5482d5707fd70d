from common import *
import re, scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.linear_model import LogisticRegression, SGDClassifier
FILL=re.compile(r"[呃嗯额唔]+")
def n1(s): return "^"+s+"$"
def n2(s):
    s=FILL.sub("",s); s=re.sub(r"[，,、；;]","，",s); s=re.sub(r"[？?]","？",s); s=re.sub(r"[。．.！!]","。",s)
    s=re.sub(r"[0-9０-９]+","0",s); s=re.sub(r"[A-Za-z]+",lambda m:"a",s); s=re.sub(r"(.)\1{2,}",r"\1\1",s)
    return "^"+s+"$"
def n3(s): return "^"+FILL.sub("",s)+"$"
for nm,f in [('raw',lambda s:s),('bound',n1),('fill+bound',n3),('full',n2)]:
    a=[f(s) for s in Xtr]; b=[f(s) for s in Xdv]
    v=TfidfVectorizer(analyzer='char',ngram_range=(1,4),sublinear_tf=True,lowercase=True); A=v.fit_transform(a);B=v.transform(b)
    for C in [0.3,0.5]:
        ev(f"{nm} char14 C={C} bal", LinearSVC(C=C,class_weight='balanced').fit(A,ytr).predict(B))
    if nm=='bound':
        for C in [10,30]:
            ev(f"{nm} char14 LR C={C} bal", LogisticRegression(C=C,class_weight='balanced',max_iter=2000).fit(A,ytr).predict(B))
        ev(f"{nm} SGD mhuber", SGDClassifier(loss='modified_huber',alpha=2e-5,class_weight='balanced',random_state=0,max_iter=50).fit(A,ytr).predict(B))
