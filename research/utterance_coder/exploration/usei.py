from common import *
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
Ftr=np.load(f"{CD}/usei_train.npy").astype(np.float32);Fdv=np.load(f"{CD}/usei_dev.npy").astype(np.float32)
sl={'mean':slice(0,1280),'max':slice(1280,2560),'y1':slice(2560,2880),'y2':slice(2880,3392),'z':slice(3392,3904),'mean+max':slice(0,2560)}
for k,s in sl.items():
    sc=StandardScaler().fit(Ftr[:,s]); A=sc.transform(Ftr[:,s]); B=sc.transform(Fdv[:,s])
    t=time.time(); m=LinearSVC(C=0.01,class_weight='balanced').fit(A,ytr); ev(f"usei {k} svc C=0.01 ({time.time()-t:.0f}s)",m.predict(B))
