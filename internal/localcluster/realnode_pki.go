package localcluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// nodePKI is what a cluster with a real node needs beyond envtest's own
// certificates:
//   - an apiserver serving certificate that also names the kubernetes
//     Service's IP and DNS names and the node IP, so pods verify the API
//     they reach through the Service (envtest's names only localhost);
//   - a client certificate the apiserver presents to the kubelet (logs,
//     exec, port-forward), from a CA the kubelet trusts for x509 client
//     authentication. It is in system:masters, so the kubelet's webhook
//     authorization (a SubjectAccessReview) allows it.
type nodePKI struct {
	CACert []byte // PEM; the apiserver's serving CA and the kubelet's client CA

	ServingCert, ServingKey             string // files
	KubeletClientCert, KubeletClientKey string // files
	CAFile                              string
}

// newNodePKI writes the certificates into dir. ips and dnsNames are the
// serving certificate's subject alternative names.
func newNodePKI(dir string, ips []net.IP, dnsNames []string) (*nodePKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localcluster-node-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	p := &nodePKI{
		CACert:            pemBlock("CERTIFICATE", caDER),
		CAFile:            filepath.Join(dir, "node-ca.crt"),
		ServingCert:       filepath.Join(dir, "apiserver.crt"),
		ServingKey:        filepath.Join(dir, "apiserver.key"),
		KubeletClientCert: filepath.Join(dir, "apiserver-kubelet-client.crt"),
		KubeletClientKey:  filepath.Join(dir, "apiserver-kubelet-client.key"),
	}
	if err := os.WriteFile(p.CAFile, p.CACert, 0o644); err != nil {
		return nil, err
	}
	// leaf is a certificate of the CA; its validity matches the CA's.
	leaf := func(serial int64, subject pkix.Name, usage ...x509.ExtKeyUsage) *x509.Certificate {
		return &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      subject,
			NotBefore:    caTmpl.NotBefore,
			NotAfter:     caTmpl.NotAfter,
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  usage,
		}
	}
	serving := leaf(2, pkix.Name{CommonName: "kube-apiserver"}, x509.ExtKeyUsageServerAuth)
	serving.IPAddresses, serving.DNSNames = ips, dnsNames
	if err := signTo(serving, ca, caKey, p.ServingCert, p.ServingKey); err != nil {
		return nil, err
	}
	client := leaf(3, pkix.Name{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}}, x509.ExtKeyUsageClientAuth)
	if err := signTo(client, ca, caKey, p.KubeletClientCert, p.KubeletClientKey); err != nil {
		return nil, err
	}
	// envtest makes its service-account signing pair only together with
	// its serving certificate, which ours replaces: the same file names,
	// so envtest's flags and the controller-manager find them.
	sa := leaf(4, pkix.Name{CommonName: "service-accounts"})
	if err := signTo(sa, ca, caKey, filepath.Join(dir, "sa-signer.crt"), filepath.Join(dir, "sa-signer.key")); err != nil {
		return nil, err
	}
	return p, nil
}

// signTo issues tmpl from the CA with a fresh key and writes both as PEM.
func signTo(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey, certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certFile, pemBlock("CERTIFICATE", der), 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyFile, pemBlock("EC PRIVATE KEY", keyDER), 0o600)
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
