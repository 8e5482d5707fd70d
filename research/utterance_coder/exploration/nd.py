from common import *
from sklearn.feature_extraction.text import TfidfVectorizer
v=TfidfVectorizer(analyzer='char',ngram_range=(1,3)); A=v.fit_transform(Xtr);B=v.transform(Xdv)
import scipy.sparse as sp
best=np.zeros(len(ydv));lab=np.zeros(len(ydv),int)
for i in range(0,len(ydv),500):
    S=(B[i:i+500]@A.T).toarray(); j=S.argmax(1); best[i:i+500]=S.max(1); lab[i:i+500]=ytr[j]
for lo in [0.95,0.9,0.8,0.7]:
    m=best>=lo; print(lo, m.sum(), 'agree', (lab[m]==ydv[m]).mean().round(3))
m=best>=0.9
for i in np.where(m & (lab!=ydv))[0][:15]: 
    S=(B[i]@A.T).toarray()[0]; j=S.argmax(); print(ydv[i],Xdv[i],'|',ytr[j],Xtr[j])
