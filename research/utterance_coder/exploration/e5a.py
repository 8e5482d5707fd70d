from common import *
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
Etr=np.load(f"{CD}/e5_train.npy");Edv=np.load(f"{CD}/e5_dev.npy")
Utr=np.load(f"{CD}/use_train.npy");Udv=np.load(f"{CD}/use_dev.npy")
print(np.linalg.norm(Etr[:3],axis=1))
s=StandardScaler().fit(Etr); Es=s.transform(Etr); Eds=s.transform(Edv)
for C in [0.01,0.1]:
    ev(f"e5 std svc C={C} bal", LinearSVC(C=C,class_weight='balanced').fit(Es,ytr).predict(Eds))
b=lambda x:["^"+t+"$" for t in x]
v=TfidfVectorizer(analyzer='char',ngram_range=(1,4),sublinear_tf=True); A=v.fit_transform(b(Xtr));B=v.transform(b(Xdv))
for w in [0.03,0.06,0.1]:
    A2=sp.hstack([A,sp.csr_matrix(Es*w)]).tocsr();B2=sp.hstack([B,sp.csr_matrix(Eds*w)]).tocsr()
    ev(f"char14+e5std*{w} C=0.5 bal", LinearSVC(C=0.5,class_weight='balanced').fit(A2,ytr).predict(B2))
