# compute & cache OOF (5-fold) + dev (fold-avg) scores for base models
from common import *
import pickle, os, sys
from sklearn.feature_extraction.text import TfidfVectorizer, CountVectorizer
from sklearn.svm import LinearSVC
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB, ComplementNB
from sklearn.model_selection import StratifiedKFold
Wtr,Wdv=pickle.load(open(f"{CD}/jieba.pkl","rb"))
b=lambda x:["^"+t+"$" for t in x]; tok=lambda s:s.split(" ")
skf=StratifiedKFold(5,shuffle=True,random_state=0)
def run(name,mk,A,B,kind='df'):
    fn=f"{CD}/oof_{name}.npz"
    if os.path.exists(fn): print('cached',name); return
    t=time.time(); o=np.zeros((A.shape[0],9)); d=np.zeros((B.shape[0],9))
    f=(lambda m,X:m.decision_function(X)) if kind=='df' else (lambda m,X:m.predict_log_proba(X))
    for tr,te in skf.split(A,ytr):
        m=mk().fit(A[tr],ytr[tr]); o[te]=f(m,A[te]); d+=f(m,B)/5
    np.savez(fn,oof=o,dev=d)
    ev(f"{name} ({time.time()-t:.0f}s) oofF1={f1_score(ytr,o.argmax(1),average='macro'):.4f}",d.argmax(1))
vc=TfidfVectorizer(analyzer='char',ngram_range=(1,4),sublinear_tf=True); Ac=vc.fit_transform(b(Xtr));Bc=vc.transform(b(Xdv))
run('char14_svc',lambda:LinearSVC(C=0.5,class_weight='balanced'),Ac,Bc)
run('char14_lr',lambda:LogisticRegression(C=20,max_iter=3000),Ac,Bc,'lp')
vw=TfidfVectorizer(tokenizer=tok,token_pattern=None,lowercase=False,ngram_range=(1,2),sublinear_tf=True); Aw=vw.fit_transform(Wtr);Bw=vw.transform(Wdv)
run('word12_svc',lambda:LinearSVC(C=0.5,class_weight='balanced'),Aw,Bw)
cc=CountVectorizer(analyzer='char',ngram_range=(1,3)); An=cc.fit_transform(b(Xtr)); Bn=cc.transform(b(Xdv))
run('char13_nb',lambda:MultinomialNB(alpha=0.1),An,Bn,'lp')
run('char13_cnb',lambda:ComplementNB(alpha=0.3),An,Bn,'lp')
Utr=np.load(f"{CD}/use_train.npy");Udv=np.load(f"{CD}/use_dev.npy")
run('use_lr',lambda:LogisticRegression(C=3,max_iter=3000),Utr,Udv,'lp')
Etr=np.load(f"{CD}/e5_train.npy");Edv=np.load(f"{CD}/e5_dev.npy")
run('e5_lr',lambda:LogisticRegression(C=3,max_iter=3000),Etr,Edv,'lp')
