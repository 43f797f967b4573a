// Command ensure-tools builds (once) and prints the paths of the local
// control-plane binaries: kube-apiserver, kube-controller-manager,
// kube-scheduler, etcd and kwok. It backs `make tools`. helm, the
// Terraform kubernetes provider mirror, kube-router and golangci-lint (make
// lint) are built only when named.
//
//	go run ./hack/ensure-tools [kubernetes|etcd|kwok|helm|terraform-provider-kubernetes|kube-router|golangci-lint ...]
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	p, err := toolchain.Ensure(ctx, os.Stderr, os.Args[1:]...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ensure-tools:", err)
		os.Exit(1)
	}
	for _, kv := range [][2]string{
		{"kube-apiserver", p.KubeAPIServer},
		{"kube-controller-manager", p.KubeControllerManager},
		{"kube-scheduler", p.KubeScheduler},
		{"etcd", p.Etcd},
		{"kwok", p.Kwok},
		{"kwok-stages", strings.Join(p.KwokStages, " ")},
		{"kwok-crds", strings.Join(p.KwokCRDs, " ")},
		{"helm", p.Helm},
		{"terraform-provider-mirror", p.TerraformProviderMirror},
		{"kube-router", p.KubeRouter},
		{"golangci-lint", p.GolangciLint},
	} {
		if kv[1] != "" {
			fmt.Printf("%s=%s\n", kv[0], kv[1])
		}
	}
}
