// Command kubectl is Kubernetes' kubectl, built from the Go module proxy
// for the CI/CD deploy step image (internal/tekton): the main of
// k8s.io/kubernetes/cmd/kubectl on the published k8s.io/kubectl (that
// module's staging replaces do not carry over to a wrapper), without the
// cloud auth plugins: a pipeline step signs in with its ServiceAccount.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	// -v is parsed here, as kubectl does, so klog logs at that level while
	// the command is built.
	logs.GlogSetter(cmd.GetLogVerbosity(os.Args)) //nolint:errcheck // as kubectl: a bad -v is reported by the flag parser
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
