// Package realnode_test walks the learner's journey on the real node
// (kubelet + containerd + runc + CNI + kube-proxy): lab containers run,
// and the learner uses kubectl with only the lab kubeconfig.
//
// The suite holds the host's one real node for its whole run; other
// packages that ask for it (internal/localcluster's real-node tests) wait
// for the machine-wide lock and take their turn.
package realnode_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/handson-dev/rotation-operator/internal/embedded"
	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/registry"
	"github.com/handson-dev/rotation-operator/test/harness"
)

var (
	cluster *localcluster.Cluster
	admin   client.Client
	reg     *registry.Server
	regCfg  registry.Config
	op      *harness.Operator
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) (code int) {
	if ok, why := localcluster.RealNodeSupport(); !ok {
		// A machine that cannot run a node (not Linux, not root) has no
		// real containers to test; CI machines can.
		fmt.Println("real-node e2e not run:", why)
		return 0
	}
	level := int(zapcore.ErrorLevel)
	if os.Getenv("TEST_VERBOSE_OPERATOR") != "" {
		level = -1
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.Level(level))))
	ctx := context.Background()
	// The node gets the lab images and the operator image, which runner
	// Jobs run (runner_test.go).
	imagesDir, err := os.MkdirTemp("", "realnode-images-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(imagesDir)
	archive, err := nodeImages(ctx, imagesDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cluster, admin, err = harness.StartClusterWith(ctx, os.Stderr, harness.ClusterOptions{
		Node: localcluster.NodeReal, NodeImages: []string{archive}, PauseImage: labimages.Pause,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Taken by Start under the node lock, before the node changed anything.
	// Compared after Stop: the suite must leave the host as it found it
	// (a node that crashed mid-suite and was restarted included).
	hostBefore, _ := cluster.HostBaseline()
	defer func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the cluster:", err)
			code = 1
		}
		after, ok := cluster.HostAfterStop()
		if !ok {
			after = localcluster.TakeHostSnapshot()
		}
		if diff := hostBefore.Diff(after); len(diff) > 0 {
			fmt.Fprintf(os.Stderr, "the host differs from before the suite:\n%s\n", strings.Join(diff, "\n"))
			code = 1
		}
	}()
	dir, err := os.MkdirTemp("", "realnode-registry-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	key := make([]byte, registry.KeySize)
	_, _ = rand.Read(key)
	// On the node's address, not loopback: pipeline pods push to it (the
	// cicd track) and the kubelet pulls by the same name.
	if reg, err = registry.New(registry.Options{Dir: dir, Key: key, Addr: net.JoinHostPort(cluster.NodeIP(), "0")}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := reg.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := cluster.TrustPlainHTTPRegistry(reg.Addr()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = reg.Stop(context.Background()) }()
	if err := embedded.StockLibrary(ctx, reg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	regCfg = reg.Config()
	grader, err := terraformCollector(cluster)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if op, err = harness.StartOperator(cluster, "operator", operator.Options{Registry: &regCfg, Terraform: grader}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code = m.Run()
	if err := op.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if code != 0 {
		cluster.DumpLogs(os.Stderr, 40)
	}
	return code
}
