from common import *
import re, os, pickle, jieba
jieba.setLogLevel(60)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.model_selection import StratifiedKFold
SPL=re.compile(r"[，,。？?！!；;、]+")
def clauses(s):
    c=[x for x in SPL.split(s) if x.strip()]
    return c if c else [s]
skf=StratifiedKFold(5,shuffle=True,random_state=0)
def pooled(transform,m,texts):
    idx=[];cl=[]
    for i,s in enumerate(texts):
        c=clauses(s); cl+=c; idx+=[i]*len(c)
    S=m.decision_function(transform(cl)); idx=np.array(idx)
    n=len(texts); mx=np.full((n,9),-9.0); cnt=np.bincount(idx,minlength=n)
    np.maximum.at(mx,idx,S); starts=np.r_[0,np.cumsum(cnt)[:-1]]; ends=np.cumsum(cnt)-1
    return np.hstack([mx,S[starts],S[ends]])
# word clause pooled
Wtr,Wdv=pickle.load(open(f"{CD}/jieba.pkl","rb")); tok=lambda s:s.split(" ")
seg=lambda x:[" ".join(jieba.lcut(s)) for s in x]
if not os.path.exists(f"{CD}/oof_wclause.npz"):
    vw=TfidfVectorizer(tokenizer=tok,token_pattern=None,lowercase=False,ngram_range=(1,2),sublinear_tf=True); A=vw.fit_transform(Wtr)
    tf=lambda cl: vw.transform(seg(cl))
    o=np.zeros((len(ytr),27)); d=np.zeros((len(ydv),27)); t=time.time()
    for tr,te in skf.split(A,ytr):
        m=LinearSVC(C=0.5,class_weight='balanced').fit(A[tr],ytr[tr])
        o[te]=pooled(tf,m,[Xtr[i] for i in te]); d+=pooled(tf,m,Xdv)/5
    np.savez(f"{CD}/oof_wclause.npz",oof=o,dev=d); print('wclause',time.time()-t); ev("wclause max",d[:,:9].argmax(1))
def run(name,mk,A,B):
    fn=f"{CD}/oof_{name}.npz"
    if os.path.exists(fn): return
    o=np.zeros((A.shape[0],9)); d=np.zeros((B.shape[0],9))
    for tr,te in skf.split(A,ytr):
        m=mk().fit(A[tr],ytr[tr]); o[te]=m.decision_function(A[te]); d+=m.decision_function(B)/5
    np.savez(fn,oof=o,dev=d); ev(name,d.argmax(1))
b=lambda x:["^"+t+"$" for t in x]
vc=TfidfVectorizer(analyzer='char',ngram_range=(1,4),sublinear_tf=True); Ac=vc.fit_transform(b(Xtr));Bc=vc.transform(b(Xdv))
run('char14_svc_nw',lambda:LinearSVC(C=0.5),Ac,Bc)
vc=TfidfVectorizer(analyzer='char',ngram_range=(1,2),sublinear_tf=True); Ac=vc.fit_transform(b(Xtr));Bc=vc.transform(b(Xdv))
run('char12_svc',lambda:LinearSVC(C=0.3,class_weight='balanced'),Ac,Bc)
