package localcluster

import (
	"bytes"
	"os"
	"path/filepath"
	"text/template"
)

// nodeConfig holds what the real node's config files are rendered from.
type nodeConfig struct {
	Dir         string // state dir; every path below it
	Socket      string // containerd's socket
	PauseImage  string
	NodeName    string
	NodeIP      string
	Bridge      string
	PodCIDR     string
	ClientCA    string // the CA the kubelet trusts for x509 clients (the apiserver)
	KubeletPort int
	HealthzPort int
	ProxyHealth int
	ProxyMetric int
	Kubeconfig  string // kube-proxy's
}

// containerdTOML sets only what differs from containerd 1.6's defaults:
// state under Dir, no TCP or debug listeners, our pause image, and
// restrict_oom_score_adj because the VM has no CAP_SYS_RESOURCE.
const containerdTOML = `version = 2
root = "{{.Dir}}/containerd/root"
state = "{{.Dir}}/containerd/state"

[grpc]
  address = "{{.Socket}}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{{.PauseImage}}"
  restrict_oom_score_adj = true
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  disable_hugetlb_controller = true
  tolerate_missing_hugetlb_controller = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "` + cniBinDir + `"
    conf_dir = "{{.Dir}}/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "{{.Dir}}/run/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{{.Dir}}/certs.d"

[plugins."io.containerd.internal.v1.opt"]
  path = "{{.Dir}}/containerd/opt"
`

// cniConflist: one bridge with host-local IPAM, masquerade for traffic
// leaving the pod range, and portmap for hostPort.
const cniConflist = `{
  "cniVersion": "1.0.0",
  "name": "localcluster",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "{{.Bridge}}",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "{{.Dir}}/cni/ipam",
        "ranges": [[{"subnet": "{{.PodCIDR}}"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`

// kubeletYAML: failCgroupV1 for cgroup v1 hosts; paths the kubelet would
// otherwise put under /var; x509 + webhook authentication, so only the
// apiserver (and holders of RBAC rights on nodes/proxy) reach pods' logs
// and exec; images are never garbage-collected (they are imported, not
// pulled), and eviction thresholds low enough for a fairly full disk.
const kubeletYAML = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://{{.Socket}}
podLogsDir: {{.Dir}}/pod-logs
volumePluginDir: {{.Dir}}/kubelet/volume-plugins
resolvConf: {{.Dir}}/resolv.conf
address: {{.NodeIP}}
port: {{.KubeletPort}}
readOnlyPort: 0
healthzPort: {{.HealthzPort}}
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: {{.ClientCA}}}
authorization:
  mode: Webhook
cgroupsPerQOS: true
enforceNodeAllocatable: ["pods"]
failSwapOn: false
clusterDomain: cluster.local
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "50Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
  nodefs.inodesFree: "1%"
serializeImagePulls: false
nodeStatusReportFrequency: 10s
`

// kubeProxyYAML: conntrack values of 0 and localhostNodePorts false keep
// kube-proxy from changing host sysctls.
const kubeProxyYAML = `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: {{.Kubeconfig}}
hostnameOverride: {{.NodeName}}
mode: iptables
clusterCIDR: {{.PodCIDR}}
healthzBindAddress: 127.0.0.1:{{.ProxyHealth}}
metricsBindAddress: 127.0.0.1:{{.ProxyMetric}}
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  localhostNodePorts: false
`

// writeNodeConfigs renders every config file into the state dir.
func (c nodeConfig) write() error {
	files := map[string]string{
		"containerd.toml":                    containerdTOML,
		"cni/net.d/10-localcluster.conflist": cniConflist,
		"kubelet.yaml":                       kubeletYAML,
		"kube-proxy.yaml":                    kubeProxyYAML,
	}
	for name, text := range files {
		var b bytes.Buffer
		if err := template.Must(template.New(name).Parse(text)).Execute(&b, c); err != nil {
			return err
		}
		path := filepath.Join(c.Dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(c.Dir, "resolv.conf"), hostResolvConf(), 0o644)
}

// hostResolvConf keeps the host's nameservers for pods (there is no
// cluster DNS), minus loopback ones a pod cannot reach.
func hostResolvConf() []byte {
	b, _ := os.ReadFile("/etc/resolv.conf")
	var out bytes.Buffer
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) == 2 && string(f[0]) == "nameserver" && bytes.HasPrefix(f[1], []byte("127.")) {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}
