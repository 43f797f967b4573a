package localcluster

import (
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// writeKubeconfig writes a kubeconfig for a client-certificate rest.Config
// (what envtest users have), usable by kubectl and the components' --kubeconfig.
func writeKubeconfig(path string, cfg *rest.Config, user string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["localcluster"] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
	}
	kc.AuthInfos[user] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
	}
	kc.Contexts["localcluster"] = &clientcmdapi.Context{Cluster: "localcluster", AuthInfo: user}
	kc.CurrentContext = "localcluster"
	return clientcmd.WriteToFile(*kc, path)
}

// adminKubeconfig provisions a system:masters user named after a component
// (so audit and logs tell them apart) and writes its kubeconfig to path.
func adminKubeconfig(env *envtest.Environment, user, path string) error {
	return userKubeconfig(env, envtest.User{Name: user, Groups: []string{"system:masters"}}, path)
}

// userKubeconfig provisions a client-certificate user and writes its
// kubeconfig to path.
func userKubeconfig(env *envtest.Environment, user envtest.User, path string) error {
	u, err := env.AddUser(user, nil)
	if err != nil {
		return err
	}
	return writeKubeconfig(path, u.Config(), user.Name)
}
