from common import *
import scipy.sparse as sp, pickle
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB, MultinomialNB
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
Wtr,Wdv=pickle.load(open(f"{CD}/jieba.pkl","rb"))
Utr=np.load(f"{CD}/use_train.npy");Udv=np.load(f"{CD}/use_dev.npy")
Etr=np.load(f"{CD}/e5_train.npy");Edv=np.load(f"{CD}/e5_dev.npy")
b=lambda x:["^"+t+"$" for t in x]; tok=lambda s:s.split(" ")
vc=TfidfVectorizer(analyzer='char',ngram_range=(1,4),sublinear_tf=True); Ac=vc.fit_transform(b(Xtr));Bc=vc.transform(b(Xdv))
vw=TfidfVectorizer(tokenizer=tok,token_pattern=None,lowercase=False,ngram_range=(1,2),sublinear_tf=True); Aw=vw.fit_transform(Wtr);Bw=vw.transform(Wdv)
from sklearn.feature_extraction.text import CountVectorizer
cc=CountVectorizer(analyzer='char',ngram_range=(1,3),binary=True); An=cc.fit_transform(b(Xtr)); Bn=cc.transform(b(Xdv))
base={
 'char_svc':(lambda:LinearSVC(C=0.5,class_weight='balanced'),Ac,Bc,'df'),
 'word_svc':(lambda:LinearSVC(C=0.5,class_weight='balanced'),Aw,Bw,'df'),
 'use_lr':(lambda:LogisticRegression(C=3,max_iter=2000),Utr,Udv,'lp'),
 'nb':(lambda:MultinomialNB(alpha=0.1),An,Bn,'lp'),
 'e5_lr':(lambda:LogisticRegression(C=1,max_iter=2000),Etr,Edv,'lp'),
}
skf=StratifiedKFold(5,shuffle=True,random_state=0)
OOF={};DEV={}
for k,(mk,A,B,kind) in base.items():
    t=time.time(); oof=np.zeros((len(ytr),9))
    f=(lambda m,X:m.decision_function(X)) if kind=='df' else (lambda m,X:m.predict_log_proba(X))
    for tr,te in skf.split(A,ytr):
        m=mk().fit(A[tr],ytr[tr]); oof[te]=f(m,A[te])
    m=mk().fit(A,ytr); d=f(m,B)
    OOF[k]=oof;DEV[k]=d
    ev(f"base {k} ({time.time()-t:.0f}s) oof-mF1={f1_score(ytr,oof.argmax(1),average='macro'):.4f}", d.argmax(1))
pickle.dump((OOF,DEV),open(f"{CD}/stack_oof.pkl","wb"))
def meta(keys,C=1.0):
    Xo=np.hstack([OOF[k] for k in keys]); Xd=np.hstack([DEV[k] for k in keys])
    s=StandardScaler().fit(Xo)
    m=LogisticRegression(C=C,max_iter=3000,class_weight='balanced').fit(s.transform(Xo),ytr)
    return m.predict(s.transform(Xd))
for keys in [['char_svc','word_svc'],['char_svc','word_svc','nb'],['char_svc','word_svc','use_lr'],['char_svc','word_svc','use_lr','nb'],['char_svc','word_svc','use_lr','nb','e5_lr']]:
    for C in [0.1,1]:
        ev(f"stack {'+'.join(keys)} C={C}", meta(keys,C))
