// Command ensure-tools builds (once) and prints the paths of the local
// control-plane binaries: kube-apiserver, kube-controller-manager,
// kube-scheduler, etcd and kwok. It backs `make tools` and the visible
// build step of `make run`. helm, crane, opentofu, the Terraform kubernetes
// provider mirror, kube-router, golangci-lint (make lint) and tkn are built only
// when named; -learner adds the learner's CLIs (helm, crane, tkn, terraform
// or else OpenTofu's tofu) where the machine lacks them.
//
//	go run ./hack/ensure-tools [-learner] [-go-build out=./pkg ...] [kubernetes|etcd|kwok|helm|crane|opentofu|terraform-provider-kubernetes|kube-router|golangci-lint|tkn ...]
//
// It ends with one line per component (how it was obtained, its time) and
// the total.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

func main() {
	learner := flag.Bool("learner", false, "Also the learner's CLIs: helm, crane, tkn and terraform, from PATH or built where missing.")
	var builds goBuilds
	flag.Var(&builds, "go-build", "out=./pkg: go build a package of this module into out, with progress (repeatable; before the tools).")
	only := flag.Bool("go-build-only", false, "Only the -go-build binaries, no tools.")
	flag.Parse()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	start := time.Now()
	var steps []toolchain.Step
	for _, b := range builds {
		s, err := b.run(ctx, os.Stderr)
		if err != nil {
			fail(err)
		}
		steps = append(steps, s)
	}
	if !*only {
		p, r, err := toolchain.EnsureReport(ctx, os.Stderr, flag.Args()...)
		if err != nil {
			fail(err)
		}
		steps = append(steps, r.Steps...)
		printPaths(p)
		if *learner {
			c, ls, err := toolchain.EnsureLearnerCLIs(ctx, os.Stderr)
			if err != nil {
				fail(err)
			}
			steps = append(steps, ls...)
			printPairs([][2]string{{"helm", c.Helm}, {"crane", c.Crane}, {"terraform", c.Terraform}, {"tkn", c.Tkn}})
		}
	}
	toolchain.Report{Steps: steps, Total: time.Since(start)}.Print(os.Stderr)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ensure-tools:", err)
	os.Exit(1)
}

func printPaths(p toolchain.Paths) {
	printPairs([][2]string{
		{"kube-apiserver", p.KubeAPIServer},
		{"kube-controller-manager", p.KubeControllerManager},
		{"kube-scheduler", p.KubeScheduler},
		{"etcd", p.Etcd},
		{"kwok", p.Kwok},
		{"kwok-stages", strings.Join(p.KwokStages, " ")},
		{"kwok-crds", strings.Join(p.KwokCRDs, " ")},
		{"helm", p.Helm},
		{"crane", p.Crane},
		{"tofu", p.Tofu},
		{"terraform-provider-mirror", p.TerraformProviderMirror},
		{"kube-router", p.KubeRouter},
		{"golangci-lint", p.GolangciLint},
		{"tekton", p.Tekton},
		{"tekton-release", strings.Join(p.TektonRelease, " ")},
		{"tkn", p.Tkn},
	})
}

func printPairs(kvs [][2]string) {
	for _, kv := range kvs {
		if kv[1] != "" {
			fmt.Printf("%s=%s\n", kv[0], kv[1])
		}
	}
}
