package lab

import (
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Kubeconfig renders a kubeconfig for the learner's token, with the lab
// namespace as the context default so plain `kubectl get pods` works.
func Kubeconfig(server string, caData []byte, rotation, token string) ([]byte, error) {
	name := Namespace(rotation)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caData}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: name}
	cfg.CurrentContext = name
	return clientcmd.Write(*cfg)
}
