# clause-level scoring features: fit char SVC on full utterances (OOF), score each clause, pool
from common import *
import re, os
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.model_selection import StratifiedKFold
SPL=re.compile(r"[，,。？?！!；;、]+")
def clauses(s):
    c=[x for x in SPL.split(s) if x.strip()]
    return c if c else [s]
b=lambda t:"^"+t+"$"
def pooled(vec,m,texts):
    idx=[];cl=[]
    for i,s in enumerate(texts):
        c=clauses(s); cl+= [b(x) for x in c]; idx+=[i]*len(c)
    S=m.decision_function(vec.transform(cl)); idx=np.array(idx)
    n=len(texts); mx=np.full((n,9),-9.0); first=np.zeros((n,9)); last=np.zeros((n,9)); cnt=np.bincount(idx,minlength=n)
    np.maximum.at(mx,idx,S)
    starts=np.r_[0,np.cumsum(cnt)[:-1]]; ends=np.cumsum(cnt)-1
    first=S[starts]; last=S[ends]
    return np.hstack([mx,first,last,cnt[:,None]])
skf=StratifiedKFold(5,shuffle=True,random_state=0)
vc=TfidfVectorizer(analyzer='char',ngram_range=(1,4),sublinear_tf=True)
Xb=[b(s) for s in Xtr]; A=vc.fit_transform(Xb)
o=np.zeros((len(ytr),28)); d=np.zeros((len(ydv),28)); t=time.time()
for tr,te in skf.split(A,ytr):
    m=LinearSVC(C=0.5,class_weight='balanced').fit(A[tr],ytr[tr])
    o[te]=pooled(vc,m,[Xtr[i] for i in te]); d+=pooled(vc,m,Xdv)/5
np.savez(f"{CD}/oof_clause.npz",oof=o,dev=d); print('clause',time.time()-t)
ev("clause max",d[:,:9].argmax(1)); ev("clause first",d[:,9:18].argmax(1)); ev("clause last",d[:,18:27].argmax(1))
