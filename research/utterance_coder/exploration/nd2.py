from common import *
import pickle
from sklearn.feature_extraction.text import TfidfVectorizer
OOF,DEV=pickle.load(open(f"{CD}/stack_oof.pkl","rb"))
p=(DEV['char_svc']+DEV['word_svc']).argmax(1)
v=TfidfVectorizer(analyzer='char',ngram_range=(1,3)); A=v.fit_transform(Xtr);B=v.transform(Xdv)
best=np.zeros(len(ydv));lab=np.zeros(len(ydv),int)
for i in range(0,len(ydv),500):
    S=(B[i:i+500]@A.T).toarray(); j=S.argmax(1); best[i:i+500]=S.max(1); lab[i:i+500]=ytr[j]
edges=[1.01,0.9,0.8,0.7,0.6,0.5,0.4,0.0]
for hi,lo in zip(edges[:-1],edges[1:]):
    m=(best>=lo)&(best<hi); print(f"[{lo},{hi}) n={m.sum()} 1nn={np.mean(lab[m]==ydv[m]):.3f} svc={np.mean(p[m]==ydv[m]):.3f}")
