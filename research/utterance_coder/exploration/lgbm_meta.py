from common import *
import pickle, re, lightgbm as lgb, scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
Wtr,Wdv=pickle.load(open(f"{CD}/jieba.pkl","rb"))
b=lambda x:["^"+t+"$" for t in x]; tok=lambda s:s.split(" ")
vc=TfidfVectorizer(analyzer='char',ngram_range=(1,4),sublinear_tf=True); Ac=vc.fit_transform(b(Xtr));Bc=vc.transform(b(Xdv))
vw=TfidfVectorizer(tokenizer=tok,token_pattern=None,lowercase=False,ngram_range=(1,2),sublinear_tf=True); Aw=vw.fit_transform(Wtr);Bw=vw.transform(Wdv)
skf=StratifiedKFold(5,shuffle=True,random_state=0)
def oof(mk,A,B):
    o=np.zeros((A.shape[0],9)); d=np.zeros((B.shape[0],9))
    for tr,te in skf.split(A,ytr):
        m=mk().fit(A[tr],ytr[tr]); o[te]=m.decision_function(A[te]); d+=m.decision_function(B)/5
    return o,d
t=time.time()
Oc,Dc=oof(lambda:LinearSVC(C=0.5,class_weight='balanced'),Ac,Bc)
Ow,Dw=oof(lambda:LinearSVC(C=0.5,class_weight='balanced'),Aw,Bw)
print('oof',time.time()-t)
ev("char fold-avg",Dc.argmax(1)); ev("char+word fold-avg",(Dc+Dw).argmax(1))
def meta(x):
    f=[]
    for s in x:
        f.append([len(s), s.count('，')+s.count(','), s.count('？')+s.count('?'), s.endswith(('？','?')), s.count('。'), len(re.findall(r'[A-Za-z0-9]',s)), len(re.findall(r'[呃嗯啊哈吧呀呢]',s))])
    return np.array(f,float)
Mtr=meta(Xtr);Mdv=meta(Xdv)
Utr=np.load(f"{CD}/use_train.npy");Udv=np.load(f"{CD}/use_dev.npy")
pickle.dump((Oc,Dc,Ow,Dw),open(f"{CD}/oof2.pkl","wb"))
for name,Xo,Xd in [('svc2',np.hstack([Oc,Ow]),np.hstack([Dc,Dw])),('svc2+meta',np.hstack([Oc,Ow,Mtr]),np.hstack([Dc,Dw,Mdv])),('svc2+meta+use',np.hstack([Oc,Ow,Mtr,Utr]),np.hstack([Dc,Dw,Mdv,Udv]))]:
    for cw in [None,'balanced']:
        m=lgb.LGBMClassifier(n_estimators=400,learning_rate=0.03,num_leaves=31,min_child_samples=20,subsample=0.8,subsample_freq=1,colsample_bytree=0.8,class_weight=cw,random_state=0,n_jobs=1,verbose=-1).fit(Xo,ytr)
        ev(f"lgbm meta {name} cw={cw}",m.predict(Xd))
