from common import *
import os, pickle
from pypinyin import lazy_pinyin, Style
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.model_selection import StratifiedKFold
t=time.time()
py=lambda s:" ".join(lazy_pinyin(s,style=Style.NORMAL,errors=lambda x:list(x)))
Ptr=[py(s) for s in Xtr]; Pdv=[py(s) for s in Xdv]; print('pinyin',time.time()-t, Ptr[0])
pickle.dump((Ptr,Pdv),open(f"{CD}/pinyin.pkl","wb"))
tok=lambda s:["^"]+s.split(" ")+["$"]
for ng in [(1,2),(1,3)]:
    v=TfidfVectorizer(tokenizer=tok,token_pattern=None,lowercase=True,ngram_range=ng,sublinear_tf=True); A=v.fit_transform(Ptr);B=v.transform(Pdv)
    for C in [0.3,0.5]:
        ev(f"pinyin{ng} svc C={C}",LinearSVC(C=C,class_weight='balanced').fit(A,ytr).predict(B))
v=TfidfVectorizer(tokenizer=tok,token_pattern=None,lowercase=True,ngram_range=(1,3),sublinear_tf=True); A=v.fit_transform(Ptr);B=v.transform(Pdv)
skf=StratifiedKFold(5,shuffle=True,random_state=0)
o=np.zeros((A.shape[0],9)); d=np.zeros((B.shape[0],9))
for tr,te in skf.split(A,ytr):
    m=LinearSVC(C=0.5,class_weight='balanced').fit(A[tr],ytr[tr]); o[te]=m.decision_function(A[te]); d+=m.decision_function(B)/5
np.savez(f"{CD}/oof_py13_svc.npz",oof=o,dev=d); ev('py13 fold-avg',d.argmax(1))
z=np.load(f"{CD}/oof_char14_svc.npz"); ev('py13+char14 sum',(d+z['dev']).argmax(1))
