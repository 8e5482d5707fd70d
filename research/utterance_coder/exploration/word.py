from common import *
import jieba, scipy.sparse as sp, pickle, os
jieba.setLogLevel(60)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.linear_model import LogisticRegression
t=time.time()
seg=lambda x:[" ".join(jieba.lcut(s)) for s in x]
Wtr=seg(Xtr); Wdv=seg(Xdv); print('jieba', time.time()-t, Wtr[:3])
pickle.dump((Wtr,Wdv),open(f"{CD}/jieba.pkl","wb"))
vw=TfidfVectorizer(analyzer=lambda s:None) 
tok=lambda s:s.split(" ")
for ng in [(1,1),(1,2),(1,3)]:
    vw=TfidfVectorizer(tokenizer=tok,token_pattern=None,lowercase=False,ngram_range=ng,sublinear_tf=True)
    A=vw.fit_transform(Wtr);B=vw.transform(Wdv)
    for C in [0.3,1]:
        ev(f"word{ng} C={C} bal", LinearSVC(C=C,class_weight='balanced').fit(A,ytr).predict(B))
vc=TfidfVectorizer(analyzer='char',ngram_range=(1,4),sublinear_tf=True); Ac=vc.fit_transform(Xtr);Bc=vc.transform(Xdv)
vw=TfidfVectorizer(tokenizer=tok,token_pattern=None,lowercase=False,ngram_range=(1,2),sublinear_tf=True); Aw=vw.fit_transform(Wtr);Bw=vw.transform(Wdv)
for w in [0.5,1.0]:
  A=sp.hstack([Ac,Aw*w]).tocsr();B=sp.hstack([Bc,Bw*w]).tocsr()
  for C in [0.3,0.5,1]:
    ev(f"char14+word12*{w} C={C} bal", LinearSVC(C=C,class_weight='balanced').fit(A,ytr).predict(B))
