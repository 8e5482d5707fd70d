from common import *
import scipy.sparse as sp, sys
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.neural_network import MLPClassifier
b=lambda x:["^"+t+"$" for t in x]
vc=TfidfVectorizer(analyzer='char',ngram_range=(1,4),sublinear_tf=True,min_df=2,dtype=np.float32); A=vc.fit_transform(b(Xtr));B=vc.transform(b(Xdv))
print(A.shape,flush=True)
for h,alpha in [(256,1e-4),(256,1e-3)]:
    t=time.time()
    m=MLPClassifier(hidden_layer_sizes=(h,),alpha=alpha,batch_size=128,learning_rate_init=1e-3,max_iter=6,random_state=0,verbose=False)
    for ep in range(6):
        m.partial_fit(A,ytr,classes=np.arange(9)) if ep else m.partial_fit(A,ytr,classes=np.arange(9))
        P=m.predict_proba(B); ev(f"mlp h={h} a={alpha} ep={ep+1} ({time.time()-t:.0f}s)",P.argmax(1))
