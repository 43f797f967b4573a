package controllers

import (
	"context"
	"os"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/lab"
)

// LearnerClients makes clients that act as a lab's learner ServiceAccount.
// The operator creates exercise starter objects through them, so a starter
// can do no more than the learner could: an Exercise author cannot use the
// operator to create objects the learner's role does not allow.
type LearnerClients struct {
	// Operator writes the TokenRequest.
	Operator client.Client
	// Base is the operator's rest.Config; only its address and CA are used.
	Base   *rest.Config
	Scheme *runtime.Scheme
	Mapper meta.RESTMapper
}

// For returns a client with a short-lived token of the lab's learner ServiceAccount.
func (l *LearnerClients) For(ctx context.Context, rotation string) (client.Client, error) {
	token, err := l.token(ctx, rotation)
	if err != nil {
		return nil, err
	}
	return l.ForToken(token)
}

// ForToken returns a client acting with a token of a lab's learner
// ServiceAccount that the caller already holds, e.g. the one it just put in
// the learner's kubeconfig: one TokenRequest fewer per new lab.
func (l *LearnerClients) ForToken(token string) (client.Client, error) {
	cfg := rest.AnonymousClientConfig(l.Base)
	cfg.BearerToken = token
	return client.New(cfg, client.Options{Scheme: l.Scheme, Mapper: l.Mapper})
}

// token requests a 10-minute token of the lab's learner ServiceAccount.
func (l *LearnerClients) token(ctx context.Context, rotation string) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: lab.LearnerServiceAccount, Namespace: lab.Namespace(rotation)}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(int64((10 * time.Minute).Seconds())),
	}}
	if err := l.Operator.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", err
	}
	return tr.Status.Token, nil
}

// Kubeconfig returns a kubeconfig with a 10-minute token of the lab's
// learner ServiceAccount, addressing the apiserver as the operator reaches
// it. Graders that run learner files (terraform) get nothing more.
func (l *LearnerClients) Kubeconfig(ctx context.Context, rotation string) ([]byte, error) {
	token, err := l.token(ctx, rotation)
	if err != nil {
		return nil, err
	}
	ca := l.Base.CAData
	if len(ca) == 0 && l.Base.CAFile != "" {
		if ca, err = os.ReadFile(l.Base.CAFile); err != nil {
			return nil, err
		}
	}
	return lab.Kubeconfig(l.Base.Host, ca, rotation, token)
}
